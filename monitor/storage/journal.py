"""The durable spill: an append-only journal of line protocol, shipped to InfluxDB in order.

Every point is appended here *before* its MQTT message is acknowledged, so an acknowledged
reading survives a crash of the processor (the bytes are in the kernel's page cache once
`append` returns) and, after `sync`, of the machine. A shipper reads from the committed
position, writes to InfluxDB and commits; while InfluxDB is down the journal simply grows, and
is replayed in order when it returns. Blocking file I/O, no asyncio: the caller decides where
it runs (appends are small page-cache writes; `sync` belongs in a thread).

Layout: `<dir>/<index:012d>.lp` segments of whole lines, and `<dir>/committed` holding
`<index> <offset>` of the first byte not yet in InfluxDB. That file is rewritten at most every
`persist_every_s` (and when a segment is finished, and on close), not after every write: it
cost ~0.5 ms a write, in the event loop. A crash then ships up to that much again, which
InfluxDB overwrites (every line has its series and timestamp: docs/storage.md).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SEGMENT_BYTES = 64 << 20
PERSIST_EVERY_S = 1.0
_SUFFIX = ".lp"
_COMMITTED = "committed"


@dataclass(frozen=True, slots=True, order=True)
class Position:
    segment: int
    offset: int


@dataclass(frozen=True, slots=True)
class Chunk:
    data: bytes  # whole lines, each ending in a newline
    end: Position  # commit this once `data` is stored

    @property
    def lines(self) -> int:
        return self.data.count(b"\n")


class Journal:
    def __init__(
        self,
        directory: Path,
        *,
        segment_bytes: int = SEGMENT_BYTES,
        persist_every_s: float = PERSIST_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self._segment_bytes = segment_bytes
        self._persist_every_s = persist_every_s
        self._monotonic = monotonic
        directory.mkdir(parents=True, exist_ok=True)
        segments = self._segments()
        self._committed = self._read_committed(segments)
        self._persisted, self._persisted_at = self._committed, monotonic()
        self._write_index = segments[-1] if segments else max(1, self._committed.segment)
        if segments:
            self._repair_tail(self._path(self._write_index))
        self._fd = os.open(self._path(self._write_index), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        self._write_size = os.fstat(self._fd).st_size
        self._read_fds: dict[int, int] = {}
        self.backlog_bytes = (
            sum(
                self._path(i).stat().st_size
                for i in self._segments()
                if i >= self._committed.segment
            )
            - self._committed.offset
        )

    @property
    def committed(self) -> Position:
        return self._committed

    @property
    def written(self) -> Position:
        """Just past the last appended byte."""
        return Position(self._write_index, self._write_size)

    def append(self, data: bytes) -> None:
        if not data:
            return
        if self._write_size >= self._segment_bytes:
            os.close(self._fd)
            self._write_index += 1
            self._fd = os.open(
                self._path(self._write_index), os.O_WRONLY | os.O_CREAT | os.O_APPEND
            )
            self._write_size = 0
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._write_size += len(data)
        self.backlog_bytes += len(data)

    def sync(self) -> None:
        os.fsync(self._fd)

    def read(self, max_bytes: int) -> Chunk | None:
        """Whole lines from the committed position, at most `max_bytes` (unless one is longer)."""
        position = self._committed
        while True:
            if position.segment > self._write_index:
                return None
            data = self._pread(position.segment, max_bytes, position.offset)
            if data:
                break
            if position.segment == self._write_index:
                return None
            position = Position(position.segment + 1, 0)  # a fully shipped older segment
        cut = data.rfind(b"\n") + 1
        while cut == 0:  # one line longer than max_bytes
            max_bytes *= 2
            data = self._pread(position.segment, max_bytes, position.offset)
            cut = data.rfind(b"\n") + 1
        return Chunk(data[:cut], Position(position.segment, position.offset + cut))

    def commit(self, end: Position) -> None:
        consumed = self._distance(self._committed, end)
        self._committed = end
        self.backlog_bytes -= consumed
        if (
            end.segment != self._persisted.segment
            or self._monotonic() - self._persisted_at >= self._persist_every_s
        ):
            self._persist()

    def _persist(self) -> None:
        """Record the committed position, then delete the segments wholly before it."""
        end = self._committed
        tmp = self.directory / f"{_COMMITTED}.tmp"
        tmp.write_text(f"{end.segment} {end.offset}\n")
        tmp.replace(self.directory / _COMMITTED)
        self._persisted, self._persisted_at = end, self._monotonic()
        for index in self._segments():
            if index >= end.segment:
                break
            with contextlib.suppress(KeyError):
                os.close(self._read_fds.pop(index))
            self._path(index).unlink(missing_ok=True)

    def close(self) -> None:
        if self._committed != self._persisted:
            self._persist()
        os.close(self._fd)
        for fd in self._read_fds.values():
            os.close(fd)
        self._read_fds.clear()

    def _distance(self, start: Position, end: Position) -> int:
        if start.segment == end.segment:
            return end.offset - start.offset
        total = self._size(start.segment) - start.offset
        for index in range(start.segment + 1, end.segment):
            total += self._size(index)
        return total + end.offset

    def _size(self, index: int) -> int:
        if index == self._write_index:
            return self._write_size
        try:
            return self._path(index).stat().st_size
        except FileNotFoundError:
            return 0

    def _pread(self, index: int, size: int, offset: int) -> bytes:
        fd = self._read_fds.get(index)
        if fd is None:
            try:
                fd = self._read_fds[index] = os.open(self._path(index), os.O_RDONLY)
            except FileNotFoundError:
                return b""
        return os.pread(fd, size, offset)

    def _path(self, index: int) -> Path:
        return self.directory / f"{index:012d}{_SUFFIX}"

    def _segments(self) -> list[int]:
        return sorted(int(p.stem) for p in self.directory.glob(f"*{_SUFFIX}") if p.stem.isdigit())

    def _read_committed(self, segments: list[int]) -> Position:
        try:
            segment, offset = (self.directory / _COMMITTED).read_text().split()
            return Position(int(segment), int(offset))
        except (FileNotFoundError, ValueError):
            return Position(segments[0] if segments else 1, 0)

    @staticmethod
    def _repair_tail(path: Path) -> None:
        """Cut a line torn by a crash mid-append: it was never acknowledged, so it comes again."""
        with path.open("r+b") as file:
            size = file.seek(0, os.SEEK_END)
            keep = size
            while keep > 0:
                file.seek(max(0, keep - 4096))
                block = file.read(keep - max(0, keep - 4096))
                newline = block.rfind(b"\n")
                if newline >= 0:
                    keep = max(0, keep - 4096) + newline + 1
                    break
                keep = max(0, keep - 4096)
            if keep != size:
                file.truncate(keep)
