"""The durable outbox on a real SQLite file: order, sequence numbers, the bound, restarts."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.errors import DevicesError
from devices.gateway.outbox import WAL_SIZE_LIMIT, Outbox, OutboxError
from vigil.wire import Reading


def _reading(t: float) -> object:
    return lambda seq: Reading(seq=seq, t=t, values={"hr": 60.0 + seq})


def _add(box: Outbox, device: str = "hr-1", t: float = 100.0) -> Reading:
    return box.append(device=device, session="S-1", kind="hr_strap", make=_reading(t))  # type: ignore[arg-type]


def test_rows_come_back_in_commit_order_with_per_device_sequences(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    for device in ["hr-1", "ox-1", "hr-1", "hr-1", "ox-1"]:
        _add(box, device)
    rows = box.pending()
    assert [(r.device, r.reading.seq) for r in rows] == [
        ("hr-1", 0),
        ("ox-1", 0),
        ("hr-1", 1),
        ("hr-1", 2),
        ("ox-1", 1),
    ]
    assert [r.reading.values for r in rows] == [
        {"hr": 60.0},
        {"hr": 60.0},
        {"hr": 61.0},
        {"hr": 62.0},
        {"hr": 61.0},
    ]
    assert box.depth == 5


def test_acknowledged_rows_are_gone_and_pending_can_start_after_a_cursor(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    for _ in range(4):
        _add(box)
    ids = [r.id for r in box.pending()]
    box.ack(ids[:2])
    box.ack([])
    assert [r.id for r in box.pending()] == ids[2:]
    assert [r.id for r in box.pending(after_id=ids[2])] == ids[3:]
    assert box.depth == 2


def test_rows_and_sequences_survive_a_restart(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    _add(box)
    _add(box)
    box.ack([box.pending()[0].id])
    box.close()
    again = Outbox(tmp_path / "o.sqlite")
    assert again.depth == 1
    assert _add(again).seq == 2  # monotonic across restarts, never reused
    assert [r.reading.seq for r in again.pending()] == [1, 2]


def test_past_the_bound_the_oldest_are_dropped_and_counted_once(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite", max_readings=3)
    for _ in range(5):
        _add(box)
    assert [r.reading.seq for r in box.pending()] == [2, 3, 4]
    assert box.depth == 3
    assert box.take_dropped() == 2
    assert box.take_dropped() == 0


def test_the_drop_count_survives_a_restart(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite", max_readings=1)
    _add(box)
    _add(box)
    box.close()
    assert Outbox(tmp_path / "o.sqlite", max_readings=1).take_dropped() == 1


def test_an_unopenable_outbox_is_a_typed_error(tmp_path: Path) -> None:
    (tmp_path / "o.sqlite").write_bytes(b"this is not a database" * 100)
    with pytest.raises(OutboxError, match="cannot open the outbox") as info:
        Outbox(tmp_path / "o.sqlite")
    assert isinstance(info.value, DevicesError)


def test_a_failing_write_is_a_typed_error_and_changes_nothing(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    _add(box)
    box._db.execute("DROP TABLE outbox")
    with pytest.raises(OutboxError, match="cannot write to the outbox"):
        _add(box)
    assert box.depth == 1
    with pytest.raises(OutboxError, match="cannot delete acknowledged rows"):
        box.ack([1])


def test_a_bound_below_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_readings must be positive"):
        Outbox(tmp_path / "o.sqlite", max_readings=0)


def test_the_file_is_in_wal_mode(tmp_path: Path) -> None:
    Outbox(tmp_path / "o.sqlite").close()
    db = sqlite3.connect(tmp_path / "o.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_commits_never_checkpoint_and_a_checkpoint_from_another_thread_does(
    tmp_path: Path,
) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    wal = tmp_path / "o.sqlite-wal"
    for _ in range(3000):  # well past SQLite's automatic checkpoint at 1,000 pages
        _add(box)
    assert wal.stat().st_size > 1000 * 4096  # no commit paid for a checkpoint (and its fsync)
    complete: list[bool] = []
    done = threading.Thread(target=lambda: complete.append(box.checkpoint()))
    done.start()
    done.join()
    assert complete == [True]
    _add(box)  # the next commit restarts the WAL and trims it to the size limit
    assert wal.stat().st_size <= WAL_SIZE_LIMIT
    assert box.depth == len(box.pending(limit=10_000)) == 3001


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["a", "b"]), st.booleans()), max_size=40), st.integers(1, 10)
)
def test_depth_always_matches_what_is_pending_and_the_bound_holds(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, bool]], bound: int
) -> None:
    box = Outbox(tmp_path_factory.mktemp("o") / "o.sqlite", max_readings=bound)
    for device, ack_first in ops:
        _add(box, device)
        if ack_first:
            box.ack([box.pending(limit=1)[0].id])
        assert box.depth == len(box.pending(limit=10_000)) <= bound
