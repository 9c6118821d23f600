from pathlib import Path

from monitor.storage.journal import Journal, Position


def test_appended_lines_are_read_in_order_and_committed(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append(b"a 1\nb 2\n")
    journal.append(b"c 3\n")
    chunk = journal.read(6)
    assert chunk is not None
    assert (chunk.data, chunk.lines) == (b"a 1\n", 1)
    journal.commit(chunk.end)
    rest = journal.read(1000)
    assert rest is not None
    assert rest.data == b"b 2\nc 3\n"
    journal.commit(rest.end)
    assert (journal.read(1000), journal.backlog_bytes) == (None, 0)


def test_the_backlog_survives_a_restart_from_the_committed_position(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append(b"a 1\nb 2\n")
    first = journal.read(4)
    assert first is not None
    journal.commit(first.end)
    journal.close()
    again = Journal(tmp_path)
    assert again.backlog_bytes == 4
    chunk = again.read(1000)
    assert chunk is not None
    assert chunk.data == b"b 2\n"


def test_a_line_torn_by_a_crash_is_cut_on_restart(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append(b"a 1\nb 2")  # the crash came mid-line: never acknowledged
    journal.close()
    again = Journal(tmp_path)
    again.append(b"c 3\n")
    chunk = again.read(1000)
    assert chunk is not None
    assert chunk.data == b"a 1\nc 3\n"


def test_segments_roll_over_and_shipped_ones_are_deleted(tmp_path: Path) -> None:
    journal = Journal(tmp_path, segment_bytes=7)
    for i in range(5):
        journal.append(f"line {i}\n".encode())
    assert len(list(tmp_path.glob("*.lp"))) == 5
    lines = []
    while (chunk := journal.read(1000)) is not None:
        lines.append(chunk.data)
        journal.commit(chunk.end)
    assert b"".join(lines) == b"".join(f"line {i}\n".encode() for i in range(5))
    assert len(list(tmp_path.glob("*.lp"))) == 1
    assert journal.committed == Position(5, 7)
    assert journal.backlog_bytes == 0


def test_a_line_longer_than_the_read_size_is_read_whole(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append(b"x" * 100 + b"\n")
    chunk = journal.read(10)
    assert chunk is not None
    assert len(chunk.data) == 101


def test_the_committed_position_is_recorded_at_most_every_interval_and_on_close(
    tmp_path: Path,
) -> None:
    """Between records a crash ships lines again (InfluxDB overwrites them); none is lost."""
    now = [0.0]
    journal = Journal(tmp_path, persist_every_s=1.0, monotonic=lambda: now[0])
    journal.append(b"a 1\nb 2\nc 3\n")
    first = journal.read(4)
    assert first is not None
    journal.commit(first.end)  # within the interval: kept in memory only
    assert Journal(tmp_path).backlog_bytes == 12  # a crash now re-ships "a 1"
    now[0] = 1.0
    second = journal.read(4)
    assert second is not None
    journal.commit(second.end)  # the interval has passed: recorded
    assert Journal(tmp_path).backlog_bytes == 4
    third = journal.read(4)
    assert third is not None
    journal.commit(third.end)
    journal.close()  # recorded on close
    assert Journal(tmp_path).backlog_bytes == 0


def test_a_finished_segment_is_recorded_and_deleted_at_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path, segment_bytes=4, persist_every_s=3600.0)
    journal.append(b"a 1\n")
    journal.append(b"b 2\n")  # a second segment
    chunk = journal.read(1000)
    assert chunk is not None
    journal.commit(chunk.end)
    chunk = journal.read(1000)
    assert chunk is not None
    journal.commit(chunk.end)
    assert len(list(tmp_path.glob("*.lp"))) == 1
    assert Journal(tmp_path).backlog_bytes == 0
