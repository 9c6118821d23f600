"""The InfluxDB edge: writes line protocol with influxdb-client's async API."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException

from monitor.errors import StorageError

WRITE_TIMEOUT_MS = 10_000


@dataclass(frozen=True, slots=True)
class InfluxSettings:
    url: str
    org: str
    bucket: str
    token: str


class InfluxWriter:
    """One HTTP client per process; `write` raises StorageError so callers can spill and retry."""

    def __init__(self, settings: InfluxSettings) -> None:
        self._settings = settings
        self._client = InfluxDBClientAsync(
            url=settings.url, token=settings.token, org=settings.org, timeout=WRITE_TIMEOUT_MS
        )
        self._write = self._client.write_api()

    async def write(self, lines: list[str]) -> None:
        if not lines:
            return
        try:
            await self._write.write(
                bucket=self._settings.bucket,
                record="\n".join(lines),
                # The client's stubs type its own string constants as the enum class.
                write_precision=WritePrecision.NS,  # type: ignore[arg-type]
            )
        except ApiException as err:
            raise StorageError(
                f"InfluxDB refused {len(lines)} points: {err.status} {err.reason}"
            ) from err
        except (OSError, TimeoutError, aiohttp.ClientError) as err:
            raise StorageError(f"InfluxDB unreachable at {self._settings.url}: {err}") from err

    async def close(self) -> None:
        await self._client.close()  # type: ignore[no-untyped-call]
