"""The audit trail's InfluxDB edge: records queue in memory and are written in batches.

`record` never blocks the hub. A failed write is retried with backoff, keeping up to
`max_pending` records; beyond that the oldest are dropped and counted (logged as an error),
because losing the hub to a full audit queue would be worse for patients than a gap in the
trail. On shutdown what is pending is flushed (bounded by `flush_timeout_s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable

from alerts.hub.audit import AuditRecord, audit_line
from alerts.hub.metrics import HubMetrics
from monitor.errors import StorageError
from monitor.storage.influx import InfluxSettings, InfluxWriter

log = logging.getLogger(__name__)

_BATCH = 500
_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


class InfluxAuditWriter:
    def __init__(
        self,
        settings: InfluxSettings,
        *,
        metrics: HubMetrics,
        max_pending: int = 100_000,
        flush_timeout_s: float = 5.0,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._pending: deque[AuditRecord] = deque()
        self._max_pending = max_pending
        self._flush_timeout_s = flush_timeout_s
        self._wake = asyncio.Event()
        self.dropped = 0

    def record(self, records: Iterable[AuditRecord]) -> None:
        for record in records:
            if len(self._pending) >= self._max_pending:
                self._pending.popleft()
                self.dropped += 1
                log.error("audit queue full: dropped the oldest record (%d so far)", self.dropped)
            self._pending.append(record)
        if self._pending:
            self._wake.set()

    async def run(self) -> None:
        writer = InfluxWriter(self._settings)
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                await self._drain(writer)
        finally:
            with contextlib.suppress(TimeoutError, StorageError):
                await asyncio.wait_for(self._flush_once(writer), self._flush_timeout_s)
            if self._pending:
                log.error("%d audit records not written at shutdown", len(self._pending))
            await writer.close()

    async def _flush_once(self, writer: InfluxWriter) -> None:
        while self._pending:
            batch = [self._pending[i] for i in range(min(_BATCH, len(self._pending)))]
            await writer.write([audit_line(record) for record in batch])
            for _ in batch:
                self._pending.popleft()

    async def _drain(self, writer: InfluxWriter) -> None:
        failures = 0
        while self._pending:
            try:
                await self._flush_once(writer)
            except StorageError as err:
                self._metrics.audit_failures += 1
                delay = _BACKOFF_S[min(failures, len(_BACKOFF_S) - 1)]
                if failures == 0:
                    log.warning("audit write failed, retrying (%s)", err)
                failures += 1
                await asyncio.sleep(delay)
            else:
                if failures:
                    log.info("audit writes recovered after %d failures", failures)
                failures = 0


class DiscardAuditSink:
    """`vigil hub --no-audit`: records are counted and dropped (demos without InfluxDB)."""

    def __init__(self) -> None:
        self.count = 0

    def record(self, records: Iterable[AuditRecord]) -> None:
        self.count += sum(1 for _ in records)
