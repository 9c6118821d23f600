"""Group commit: the points of every message of one socket read are appended to the journal
together, and only then are those messages acknowledged.

No task of its own: `commit` appends at once when nothing needs waiting for; `join` schedules
one flush per loop turn (an fsync per group, or a full spill), and `flush_now` lets shutdown
commit what is staged synchronously. With `fsync_each` the group also waits for an fsync (in a
thread) before its acknowledgements; meanwhile new messages form the next group. While the
spill holds more than `max_backlog_bytes`, groups are appended but their acknowledgements are
held until the shipper makes room: the broker stops sending once our Receive Maximum of
unacknowledged messages is reached.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from monitor.storage.journal import Journal, Position

log = logging.getLogger(__name__)


class GroupCommit:
    def __init__(
        self,
        journal: Journal,
        *,
        on_appended: Callable[[], None],
        fsync_each: bool = False,
        max_backlog_bytes: int = 8 << 30,
    ) -> None:
        self._journal = journal
        self._on_appended = on_appended
        self._fsync_each = fsync_each
        self._max_backlog_bytes = max_backlog_bytes
        self._lines: list[str] = []
        self._group: asyncio.Future[None] | None = None
        self._held: list[asyncio.Future[None]] = []
        self._syncing = 0
        self._stored_callbacks: list[Callable[[], None]] = []
        self._awaiting_storage: deque[tuple[Position, list[Callable[[], None]]]] = deque()

    @property
    def held(self) -> int:
        """Groups appended but not yet released (fsync running, or the spill is full)."""
        return len(self._held) + self._syncing

    def stage(self, lines: list[str]) -> None:
        self._lines.extend(lines)

    def when_stored(self, callback: Callable[[], None]) -> None:
        """Call `callback` once what is staged now has been written to InfluxDB."""
        self._stored_callbacks.append(callback)

    def commit(self) -> asyncio.Future[None] | None:
        """Append what is staged now. None: the messages that staged it may be acknowledged at
        once; else the future of their release (an fsync is due first, or the spill is over
        its bound). Appending at the end of each socket read, rather than on the next loop
        turn, takes two loop turns off every acknowledgement: with a broker that allows 20
        messages in flight, that round trip is what bounds throughput."""
        if self._fsync_each or self._held or self._journal.backlog_bytes > self._max_backlog_bytes:
            return self.join()
        self._append()
        return None

    def join(self) -> asyncio.Future[None]:
        """The future of the current group: done once its points are in the journal."""
        if self._group is None:
            loop = asyncio.get_running_loop()
            self._group = loop.create_future()
            loop.call_soon(self._flush)
        return self._group

    def flush_now(self) -> None:
        """Append what is staged and release every group (shutdown: no fsync wait, no hold)."""
        self._append()
        group, self._group = self._group, None
        for future in [*self._held, *([group] if group else [])]:
            if not future.done():
                future.set_result(None)
        self._held.clear()

    def make_room(self) -> None:
        """The shipper committed points: release held groups if the spill is below its bound."""
        committed = self._journal.committed
        while self._awaiting_storage and self._awaiting_storage[0][0] <= committed:
            for callback in self._awaiting_storage.popleft()[1]:
                callback()
        if self._held and self._journal.backlog_bytes <= self._max_backlog_bytes:
            held, self._held = self._held, []
            for future in held:
                if not future.done():
                    future.set_result(None)

    def _append(self) -> None:
        if self._lines:
            data = ("\n".join(self._lines) + "\n").encode()
            self._lines.clear()
            self._journal.append(data)
            self._on_appended()
        if self._stored_callbacks:
            self._awaiting_storage.append((self._journal.written, self._stored_callbacks))
            self._stored_callbacks = []

    def _flush(self) -> None:
        group, self._group = self._group, None
        if group is None:
            return
        self._append()
        if self._fsync_each:
            self._syncing += 1
            done = asyncio.get_running_loop().run_in_executor(None, self._journal.sync)
            done.add_done_callback(lambda f: self._synced(f, group))
        else:
            self._release(group)

    def _synced(self, done: asyncio.Future[None], group: asyncio.Future[None]) -> None:
        self._syncing -= 1
        if done.exception() is not None:
            log.error("fsync of the spill failed; acknowledging anyway: %r", done.exception())
        self._release(group)

    def _release(self, group: asyncio.Future[None]) -> None:
        if self._held or self._journal.backlog_bytes > self._max_backlog_bytes:
            if not self._held:
                log.warning(
                    "spill above %d bytes: holding acknowledgements until InfluxDB catches up",
                    self._max_backlog_bytes,
                )
            self._held.append(group)
        elif not group.done():
            group.set_result(None)
