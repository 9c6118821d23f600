"""The shipper's batching: a full batch leaves at once, a partial one after the linger."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from monitor.metrics import Metrics
from monitor.storage.journal import Journal
from monitor.storage.shipper import Shipper

LINE = b"vitals,session=s value=1 1\n"  # 27 bytes


class _Writer:
    def __init__(self) -> None:
        self.writes: list[tuple[float, int]] = []  # (loop time, bytes)

    async def write(self, lines: list[str] | bytes) -> None:
        self.writes.append((asyncio.get_running_loop().time(), len(lines)))


async def _running(shipper: Shipper) -> asyncio.Task[None]:
    task = asyncio.create_task(shipper.run())
    await asyncio.sleep(0)
    return task


async def _written(writer: _Writer, count: int = 1) -> None:
    async with asyncio.timeout(5):
        while len(writer.writes) < count:
            await asyncio.sleep(0.01)


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_full_batch_does_not_wait_for_the_linger(tmp_path: Path) -> None:
    journal, writer = Journal(tmp_path / "j"), _Writer()
    shipper = Shipper(journal, writer, Metrics(), batch_bytes=1024, linger_s=30.0)
    task = await _running(shipper)
    loop = asyncio.get_running_loop()
    started = loop.time()
    journal.append(LINE)
    shipper.notify()
    await asyncio.sleep(0.05)
    assert writer.writes == []  # lingering for company
    journal.append(LINE * 40)  # now over one batch
    shipper.notify()
    await _written(writer)
    assert writer.writes[0][0] - started < 5
    assert journal.backlog_bytes < 1024
    await _stop(task)


async def test_a_partial_batch_leaves_after_the_linger(tmp_path: Path) -> None:
    journal, writer = Journal(tmp_path / "j"), _Writer()
    shipper = Shipper(journal, writer, Metrics(), batch_bytes=1 << 20, linger_s=0.2)
    task = await _running(shipper)
    started = asyncio.get_running_loop().time()
    journal.append(LINE)
    shipper.notify()
    await _written(writer)
    assert writer.writes == [(writer.writes[0][0], len(LINE))]
    assert writer.writes[0][0] - started >= 0.19
    assert journal.backlog_bytes == 0
    await _stop(task)


class _SlowWriter(_Writer):
    async def write(self, lines: list[str] | bytes) -> None:
        await asyncio.sleep(0.5)
        await super().write(lines)


async def test_the_linger_counts_from_the_oldest_unshipped_line(tmp_path: Path) -> None:
    """Lines appended while a write is under way are old by its end: they leave at once."""
    journal, writer = Journal(tmp_path / "j"), _SlowWriter()
    shipper = Shipper(journal, writer, Metrics(), batch_bytes=1 << 20, linger_s=0.4)
    task = await _running(shipper)
    started = asyncio.get_running_loop().time()
    journal.append(LINE)
    shipper.notify()
    await asyncio.sleep(0.45)  # the first write (after the linger) is under way
    journal.append(LINE)
    shipper.notify()
    await _written(writer, 2)
    first, second = (t - started for t, _ in writer.writes)
    assert 0.85 <= first < 1.1  # 0.4 s linger + 0.5 s write
    assert second - first < 0.7  # 0.5 s write, no second linger
    await _stop(task)


async def test_lines_from_before_a_restart_leave_without_lingering(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j")
    journal.append(LINE)
    journal.close()
    journal, writer = Journal(tmp_path / "j"), _Writer()
    shipper = Shipper(journal, writer, Metrics(), batch_bytes=1 << 20, linger_s=30.0)
    task = await _running(shipper)
    started = asyncio.get_running_loop().time()
    await _written(writer)
    assert writer.writes[0][0] - started < 1
    await _stop(task)


async def test_caught_up_returns_once_what_a_previous_run_left_is_shipped(tmp_path: Path) -> None:
    earlier = Journal(tmp_path / "j")
    earlier.append(LINE * 100)
    earlier.close()
    journal, writer = Journal(tmp_path / "j"), _Writer()
    shipper = Shipper(journal, writer, Metrics(), batch_bytes=1024, linger_s=30.0)
    waiting = asyncio.create_task(shipper.caught_up())
    await asyncio.sleep(0.05)
    assert not waiting.done()  # nothing ships until the shipper runs
    task = await _running(shipper)
    async with asyncio.timeout(5):
        await waiting
    assert journal.backlog_bytes == 0
    assert sum(size for _, size in writer.writes) == len(LINE) * 100
    await asyncio.wait_for(shipper.caught_up(), 1)  # nothing left: at once
    await _stop(task)
