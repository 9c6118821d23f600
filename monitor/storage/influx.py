"""The InfluxDB edge: writes line protocol with influxdb-client's async API."""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from monitor.errors import StorageError

WRITE_TIMEOUT_S = 10.0
# 400: malformed or partially written (type conflict), 413: too large, 422: beyond retention.
# Retrying these cannot help; anything else (5xx, 429, auth, network) may pass later.
PERMANENT_STATUSES = frozenset({400, 413, 422})


@dataclass(frozen=True, slots=True)
class InfluxSettings:
    url: str
    org: str
    bucket: str
    token: str = field(repr=False)


class InfluxWriter:
    """One HTTP client per process; `write` raises StorageError so callers can spill and retry."""

    def __init__(self, settings: InfluxSettings, *, timeout_s: float = WRITE_TIMEOUT_S) -> None:
        self._settings = settings
        self._client = InfluxDBClientAsync(
            url=settings.url, token=settings.token, org=settings.org, timeout=timeout_s * 1000
        )
        self._write = self._client.write_api()

    async def write(self, lines: list[str] | bytes) -> None:
        if not lines:
            return
        body = lines if isinstance(lines, bytes) else "\n".join(lines)
        count = body.count(b"\n") if isinstance(body, bytes) else len(lines)
        try:
            await self._write.write(
                bucket=self._settings.bucket,
                record=body,
                # The client's stubs type its own string constants as the enum class.
                write_precision=WritePrecision.NS,  # type: ignore[arg-type]
            )
        except ApiException as err:
            raise StorageError(
                f"InfluxDB refused {count} points: {err.status} {err.reason}",
                status=err.status,
                permanent=err.status in PERMANENT_STATUSES,
            ) from err
        except (OSError, TimeoutError, aiohttp.ClientError) as err:
            raise StorageError(f"InfluxDB unreachable at {self._settings.url}: {err!r}") from err

    async def close(self) -> None:
        await self._client.close()  # type: ignore[no-untyped-call]
