"""Pre-dose readings read back from InfluxDB after a restart: the rows, the query, and the real
server (what is written comes back; a server that is down costs a warning, not the start)."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid

import pytest

from monitor.evaluation import HistoryRequest, StoredValue
from monitor.storage.history import (
    StoredHistory,
    history_flux,
    last_seen_flux,
    stored_values,
)
from monitor.storage.influx import InfluxSettings, InfluxWriter
from monitor.storage.points import batch_lines
from vigil.services.endpoints import InfluxEndpoint
from vigil.wire import Reading, ReadingBatch

T = dt.datetime(2026, 12, 1, 10, 0, 0, 123456, tzinfo=dt.UTC)
T_S = 1_796_119_200.123456


def test_a_row_gives_one_value_per_requested_metric_with_its_quality() -> None:
    row = {"_time": T, "sbp": 121.0, "dbp": 79.0, "flags": "cuff_loose,body_movement"}
    assert stored_values(row, ("dbp", "hr", "sbp")) == [
        StoredValue("dbp", T_S, 79.0, None, ("cuff_loose", "body_movement")),
        StoredValue("sbp", T_S, 121.0, None, ("cuff_loose", "body_movement")),
    ]
    assert stored_values({"_time": T, "hr": 70.0, "contact": False}, ("hr",)) == [
        StoredValue("hr", T_S, 70.0, False, ())
    ]


def test_historical_rows_and_non_numbers_give_nothing() -> None:
    assert stored_values({"_time": T, "hr": 70.0, "historical": True}, ("hr",)) == []
    assert stored_values({"_time": T, "hr": None, "sbp": True}, ("hr", "sbp")) == []


def test_the_query_quotes_what_it_is_given() -> None:
    request = HistoryRequest('S"1\\', ("sbp",), 1.5, 2.000001)
    flux = history_flux('b"ucket', request)
    assert 'from(bucket: "b\\"ucket")' in flux
    assert 'r.session == "S\\"1\\\\"' in flux
    assert "range(start: time(v: 1500000000), stop: time(v: 2000001000))" in flux
    assert 'r._field == "sbp" or r._field == "contact"' in flux


def test_the_last_seen_query_takes_the_latest_per_session_and_metric() -> None:
    flux = last_seen_flux("b", ("pr", "sbp"), 1.5)
    assert "range(start: time(v: 1500000000))" in flux
    assert '(r._field == "pr" or r._field == "sbp")' in flux
    assert flux.index("last()") < flux.index('group(columns: ["session", "_field"])')
    assert flux.index('group(columns: ["session", "_field"])') < flux.index('max(column: "_time")')


@pytest.mark.integration
async def test_the_latest_reading_of_each_session_and_metric_comes_back(
    influxdb: InfluxEndpoint,
) -> None:
    settings = InfluxSettings(
        url=influxdb.url, org=influxdb.org, bucket=influxdb.bucket, token=influxdb.token
    )
    session, t0 = f"seen-{uuid.uuid4().hex[:8]}", time.time() - 600
    lines = [
        *batch_lines(
            ReadingBatch(
                gateway="gw-1",
                session=session,
                device="bp-1",
                kind="bp_cuff",
                readings=[
                    Reading(seq=1, t=t0, values={"sbp": 120.0, "dbp": 80.0}),
                    Reading(seq=2, t=t0 + 300.25, values={"sbp": 121.0, "dbp": 81.0}),
                ],
            )
        ),
        *batch_lines(
            ReadingBatch(  # a second device measuring the same metric, later
                gateway="gw-1",
                session=session,
                device="bp-2",
                kind="bp_cuff",
                readings=[Reading(seq=1, t=t0 + 400.5, values={"sbp": 119.0})],
            )
        ),
    ]
    writer = InfluxWriter(settings)
    try:
        await writer.write(lines)
    finally:
        await writer.close()
    async with StoredHistory(settings, timeout_s=10) as history:
        seen = await history.last_seen(("dbp", "sbp", "spo2"), t0 - 1, timeout_s=10)
    assert seen is not None
    assert {k: v for k, v in seen.items() if k[0] == session} == {
        (session, "sbp"): round((t0 + 400.5) * 1e6) / 1e6,
        (session, "dbp"): round((t0 + 300.25) * 1e6) / 1e6,
    }


async def test_last_seen_from_a_server_that_is_down_is_none_and_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = InfluxSettings(url="http://127.0.0.1:9", org="o", bucket="b", token="t")
    with caplog.at_level(logging.WARNING):
        async with StoredHistory(settings, timeout_s=2) as history:
            assert await history.last_seen(("hr",), 0, timeout_s=2) is None
    assert "the deadman counts from the restart" in caplog.text


@pytest.mark.integration
async def test_what_was_stored_comes_back_in_time_order(influxdb: InfluxEndpoint) -> None:
    settings = InfluxSettings(
        url=influxdb.url, org=influxdb.org, bucket=influxdb.bucket, token=influxdb.token
    )
    session, t0 = f"hist-{uuid.uuid4().hex[:8]}", time.time() - 600

    def batch(device: str, kind: str, readings: list[Reading]) -> ReadingBatch:
        return ReadingBatch(
            gateway="gw-1", session=session, device=device, kind=kind, readings=readings
        )  # type: ignore[arg-type]

    cuff = batch(
        "bp-1",
        "bp_cuff",
        [
            Reading(seq=1, t=t0 + 300.0000004, values={"sbp": 122.0, "dbp": 81.0}),
            Reading(seq=2, t=t0 + 0.5, values={"sbp": 118.0}, flags=("cuff_loose",)),
        ],
    )
    strap = batch(
        "hr-1",
        "hr_strap",
        [
            Reading(seq=7, t=t0 + 100, values={"hr": 71.0}, contact=False),
            Reading(seq=8, t=t0 + 200, values={"hr": 72.0}, historical=True),
            Reading(seq=9, t=t0 - 60, values={"hr": 73.0}),  # before the window
        ],
    )
    other = ReadingBatch(  # another session, whose name starts with this one's
        gateway="gw-1", session=f"{session}x", device="hr-2", kind="hr_strap",
        readings=[Reading(seq=1, t=t0 + 100, values={"hr": 99.0})],
    )  # fmt: skip
    writer = InfluxWriter(settings)
    try:
        await writer.write([*batch_lines(cuff), *batch_lines(strap), *batch_lines(other)])
    finally:
        await writer.close()

    request = HistoryRequest(session, ("dbp", "hr", "sbp"), t0, t0 + 600)
    async with StoredHistory(settings, timeout_s=10) as history:
        found = await history.readings([request], timeout_s=10, what="w", otherwise="o")
        everyone = HistoryRequest(None, ("dbp", "hr", "sbp"), t0, t0 + 600)
        found_all = await history.readings([everyone], timeout_s=10, what="w", otherwise="o")
    t300 = round((t0 + 300.0000004) * 1e6) / 1e6
    mine = [
        StoredValue("sbp", round((t0 + 0.5) * 1e6) / 1e6, 118.0, None, ("cuff_loose",)),
        StoredValue("hr", round((t0 + 100) * 1e6) / 1e6, 71.0, False, ()),
        StoredValue("dbp", t300, 81.0, None, ()),
        StoredValue("sbp", t300, 122.0, None, ()),
    ]
    assert found == {session: mine}

    # A request of every session: each session's values, by session.
    assert found_all[session] == mine
    assert found_all[f"{session}x"] == [
        StoredValue("hr", round((t0 + 100) * 1e6) / 1e6, 99.0, None, ())
    ]


async def test_a_server_that_is_down_costs_a_warning_within_the_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = InfluxSettings(url="http://127.0.0.1:9", org="o", bucket="b", token="t")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        async with StoredHistory(settings, timeout_s=2) as history:
            found = await history.readings(
                [HistoryRequest("S1", ("hr",), 0, 1)],
                timeout_s=2,
                what="the pre-dose readings",
                otherwise="baselines from later readings",
            )
    assert found == {}
    assert time.monotonic() - started < 5
    assert "could not read the pre-dose readings back from InfluxDB for 1 of 1 requests" in (
        caplog.text
    )
    assert "baselines from later readings" in caplog.text
    assert "S1" not in caplog.text  # no session ids in logs
