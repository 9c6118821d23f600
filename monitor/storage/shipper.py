"""Ships the journal to InfluxDB in order: batches by size and linger, retries with backoff.

The linger counts from when the oldest unshipped line was appended (as Kafka's `linger.ms`
does), not from the last write: a quiet stream ships once per linger, and the partial batch
left at the end of a backlog, already old, leaves at once instead of waiting another linger.

Points InfluxDB rejects as malformed are not retried forever (that would block every later
point): the chunk is set aside in `<spill>/rejected/` with the reason, and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from monitor.errors import StorageError
from monitor.metrics import Metrics
from monitor.storage.journal import Chunk, Journal, Position

log = logging.getLogger(__name__)

# Append times are kept per this much time (later appends join the newest entry, which only
# makes them look older, so ship sooner), and at most this many: bounded during an outage.
_APPEND_GRAIN_S = 0.02
_APPEND_TIMES_MAX = 4096


class PointWriter(Protocol):
    async def write(self, lines: list[str] | bytes) -> None: ...


def backoff_s(attempt: int, *, base_s: float = 0.25, cap_s: float = 2.0) -> float:
    """Seconds to wait before retry `attempt` (1, 2, ...): doubling from `base_s` up to `cap_s`.

    The cap is low on purpose: a returning InfluxDB should see its backlog within seconds.
    """
    return float(min(cap_s, base_s * 2 ** max(0, attempt - 1)))


class Shipper:
    def __init__(
        self,
        journal: Journal,
        writer: PointWriter,
        metrics: Metrics,
        *,
        batch_bytes: int,
        linger_s: float,
    ) -> None:
        self._journal = journal
        self._writer = writer
        self._metrics = metrics
        self._batch_bytes = batch_bytes
        self._linger_s = linger_s
        self.on_shipped: Callable[[], None] | None = None  # the spill shrank
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._shipped = asyncio.Event()
        # (journal end after an append, loop time of it); what is in the journal already when
        # the shipper starts (a restart) counts as old.
        self._appended: deque[tuple[Position, float]] = deque([(journal.written, -math.inf)])
        self._rejected_dir = journal.directory.parent / f"{journal.directory.name}-rejected"

    def notify(self) -> None:
        """New data was appended to the journal."""
        written, now = self._journal.written, asyncio.get_running_loop().time()
        appended = self._appended  # never empty: `_oldest_unshipped` keeps one entry
        if len(appended) >= _APPEND_TIMES_MAX or now - appended[-1][1] < _APPEND_GRAIN_S:
            appended[-1] = (written, appended[-1][1])
        else:
            appended.append((written, now))
        self._wake.set()
        if self._journal.backlog_bytes >= self._batch_bytes:
            self._full.set()

    async def run(self) -> None:
        while True:
            if self._journal.backlog_bytes <= 0:
                self._wake.clear()
                await self._wake.wait()
            await self._linger()
            await self.ship_one()

    async def _linger(self) -> None:
        """Wait until a full batch is waiting, or the oldest unshipped line is `linger_s` old
        (whichever is first)."""
        if self._linger_s <= 0 or self._journal.backlog_bytes >= self._batch_bytes:
            return
        remaining = self._oldest_unshipped() + self._linger_s - asyncio.get_running_loop().time()
        if remaining <= 0:
            return
        self._full.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(remaining):
                await self._full.wait()

    def _oldest_unshipped(self) -> float:
        """Loop time at which the first line after the committed position was appended."""
        committed, appended = self._journal.committed, self._appended
        while len(appended) > 1 and appended[0][0] <= committed:
            appended.popleft()
        return appended[0][1]

    async def ship_one(self) -> bool:
        """Write one chunk, retrying until InfluxDB takes it (or rejects it for good)."""
        chunk = self._journal.read(self._batch_bytes)
        if chunk is None:
            return False
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                await self._writer.write(chunk.data)
            except StorageError as err:
                if err.permanent:
                    self._set_aside(chunk, err)
                    break
                attempt += 1
                self._metrics.write_failures += 1
                if attempt == 1 or attempt % 20 == 0:
                    log.warning(
                        "InfluxDB write failed (attempt %d, spill %d bytes): %s",
                        attempt,
                        self._journal.backlog_bytes,
                        err,
                    )
                await asyncio.sleep(backoff_s(attempt))
                continue
            self._metrics.observe_write(time.perf_counter() - started, chunk.lines)
            if attempt:
                log.warning("InfluxDB writes recovered after %d failed attempts", attempt)
            break
        self._journal.commit(chunk.end)
        self._shipped.set()
        if self.on_shipped:
            self.on_shipped()
        return True

    async def caught_up(self) -> None:
        """Return once the journal holds nothing unshipped (while `run` ships it)."""
        while self._journal.backlog_bytes > 0:
            self._shipped.clear()
            await self._shipped.wait()

    async def drain(self) -> None:
        """Ship everything in the journal (on shutdown; the caller bounds it with a timeout)."""
        while await self.ship_one():
            pass

    def _set_aside(self, chunk: Chunk, err: StorageError) -> None:
        self._rejected_dir.mkdir(parents=True, exist_ok=True)
        name = f"{chunk.end.segment:012d}-{chunk.end.offset:012d}"
        (self._rejected_dir / f"{name}.lp").write_bytes(chunk.data)
        (self._rejected_dir / f"{name}.reason").write_text(f"{err}\n")
        self._metrics.points_rejected += chunk.lines
        log.error(
            "InfluxDB rejected %d points for good (%s); kept in %s",
            chunk.lines,
            err,
            Path(self._rejected_dir) / f"{name}.lp",
        )
