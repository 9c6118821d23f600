"""What a restarted processor reads back from InfluxDB (docs/processor.md, Restart recovery).

Pre-dose readings: a session's baseline is the median of its readings in the window before
the dose, held in the processor's memory until the dose is marked. A restart before the dose
would lose them: the baseline would come from the readings after the restart only (with a
cuff every few minutes, often none, and rise rules would stay silent for the whole session).

Last-seen times: the deadman calls a metric stale `after_s` after its last reading (20 min for
a cuff). Without them a reopened session's deadman counts from the restart, and a cuff that
fell silent before it is noticed up to 20 minutes late.

Rate windows: a rate rule compares each reading with the extreme of the last `window_s` (60 s
for SpO2); refilled, a fall that straddles the restart is judged as without it.

All three come from the `vitals` measurement, where every reading is stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any, Self

from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync

from monitor.evaluation import HistoryRequest, StoredValue
from monitor.storage.influx import InfluxSettings
from monitor.storage.points import MEASUREMENT, to_ns

log = logging.getLogger(__name__)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def history_flux(bucket: str, request: HistoryRequest) -> str:
    """One row per stored reading: its metric fields, contact and flags. Historical readings
    (replayed from a device's memory) never drive live alarms or baselines: left out."""
    fields = [*request.metrics, "contact", "flags", "historical"]
    field_test = " or ".join(f"r._field == {_string(name)}" for name in fields)
    start_ns, stop_ns = to_ns(request.start), to_ns(request.stop)
    session_test = (
        "" if request.session is None else f" and r.session == {_string(request.session)}"
    )
    return (
        f"from(bucket: {_string(bucket)})"
        f" |> range(start: time(v: {start_ns}), stop: time(v: {stop_ns}))"
        f" |> filter(fn: (r) => r._measurement == {_string(MEASUREMENT)}{session_test})"
        f" |> filter(fn: (r) => {field_test})"
        ' |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'
    )


def stored_values(row: dict[str, Any], metrics: Sequence[str]) -> list[StoredValue]:
    """The values of one pivoted row; none when the reading was historical."""
    if row.get("historical") is True:
        return []
    t = _seconds(row["_time"])
    contact = row.get("contact")
    flags = row.get("flags")
    return [
        StoredValue(
            metric=metric,
            t=t,
            value=float(value),
            contact=contact if isinstance(contact, bool) else None,
            flags=tuple(flags.split(",")) if isinstance(flags, str) and flags else (),
        )
        for metric in metrics
        if isinstance(value := row.get(metric), int | float) and not isinstance(value, bool)
    ]


def last_seen_flux(bucket: str, metrics: Sequence[str], start: float) -> str:
    """The time of the latest stored reading of each (session, metric) since `start`."""
    field_test = " or ".join(f"r._field == {_string(name)}" for name in metrics)
    return (
        f"from(bucket: {_string(bucket)})"
        f" |> range(start: time(v: {to_ns(start)}))"
        f" |> filter(fn: (r) => r._measurement == {_string(MEASUREMENT)} and ({field_test}))"
        " |> last()"
        ' |> group(columns: ["session", "_field"])'
        ' |> max(column: "_time")'
        ' |> keep(columns: ["session", "_field", "_time"])'
    )


def _seconds(stamp: dt.datetime) -> float:
    return ((stamp - _EPOCH) // _MICROSECOND) / 1e6


class StoredHistory:
    """`async with StoredHistory(settings, timeout_s=...) as history`: one InfluxDB client for
    every read of a restart (a client of its own per read cost 50-70 ms more, measured)."""

    def __init__(self, settings: InfluxSettings, *, timeout_s: float) -> None:
        self._bucket = settings.bucket
        self._client = InfluxDBClientAsync(
            url=settings.url, token=settings.token, org=settings.org, timeout=timeout_s * 1000
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.close()  # type: ignore[no-untyped-call]

    async def last_seen(
        self, metrics: Sequence[str], start: float, *, timeout_s: float
    ) -> dict[tuple[str, str], float] | None:
        """(session, metric) -> the time of its latest stored reading since `start`, for every
        session in the bucket; None (logged) when InfluxDB does not answer within `timeout_s`."""
        try:
            async with asyncio.timeout(timeout_s):
                tables = await self._client.query_api().query(
                    last_seen_flux(self._bucket, metrics, start)
                )
        except Exception as err:  # noqa: BLE001 - any failure leaves the deadman as without this
            log.warning(
                "could not read last-seen times back from InfluxDB (%r); "
                "the deadman counts from the restart",
                err,
            )
            return None
        return {
            (record.values["session"], record.values["_field"]): _seconds(record.values["_time"])
            for table in tables
            for record in table.records
        }

    async def readings(
        self,
        requests: Sequence[HistoryRequest],
        *,
        timeout_s: float,
        what: str,
        otherwise: str,
    ) -> dict[str, list[StoredValue]]:
        """The stored values of each request's session (of every session with any, for a
        request of every session), in time order. Within `timeout_s` in all: requests not
        answered by then (InfluxDB down or slow) are logged as `what` could not be read,
        `otherwise` then happening, and are left out."""
        found: dict[str, list[StoredValue]] = {}
        answered = 0
        query = self._client.query_api()
        try:
            async with asyncio.timeout(timeout_s):
                for request in requests:
                    tables = await query.query(history_flux(self._bucket, request))
                    rows = sorted(
                        (record.values for table in tables for record in table.records),
                        key=lambda row: row["_time"],
                    )
                    if request.session is not None:
                        found[request.session] = []
                    for row in rows:
                        values = stored_values(row, request.metrics)
                        found.setdefault(request.session or row["session"], []).extend(values)
                    answered += 1
        except Exception as err:  # noqa: BLE001 - any failure leaves the rest as without history
            log.warning(
                "could not read %s back from InfluxDB for %d of %d requests (%r); %s",
                what,
                len(requests) - answered,
                len(requests),
                err,
                otherwise,
            )
        return found
