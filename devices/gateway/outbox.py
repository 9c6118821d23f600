"""The durable outbox: every reading is committed here before it is published, and deleted
only when the broker has acknowledged it (PUBACK).

SQLite in WAL mode with `synchronous=NORMAL`: a committed row survives the gateway being
killed (it is in the WAL file), though not necessarily a power cut in the same second; commits
are a write() without fsync, well under a millisecond, so they run on the event loop. Set
`synchronous="FULL"` to survive power loss at the cost of an fsync per reading.

Bounded: past `max_readings` the oldest rows are dropped first (the newest data is what live
alarms need; the oldest is history that is already late), the drop is counted, and the
gateway reports it as an `outbox_overflow` technical event.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from devices.errors import DevicesError
from vigil.wire import Reading

log = logging.getLogger(__name__)
WAL_SIZE_LIMIT = 8 << 20

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    session TEXT NOT NULL,
    kind TEXT NOT NULL,
    reading BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS sequences (device TEXT PRIMARY KEY, next_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class OutboxError(DevicesError):
    """The outbox database cannot be opened or written (disk full, corrupt file, permissions)."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    device: str
    session: str
    kind: str
    reading: Reading


class Outbox:
    def __init__(
        self,
        path: Path,
        *,
        max_readings: int = 500_000,
        synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
    ) -> None:
        if max_readings < 1:
            raise ValueError("max_readings must be positive")
        self.max_readings = max_readings
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            # With WAL + NORMAL the checkpoint is the only fsync. Left automatic, it runs inside
            # whichever commit crosses 1,000 pages, on the event loop: stalls of 0.2-0.6 s on a
            # busy disk (bench e2e). `checkpoint()` runs it from a worker thread instead.
            self._db.execute("PRAGMA wal_autocheckpoint=0")
            # and a WAL that grew during an outage shrinks back once checkpointed.
            self._db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as err:
            raise OutboxError(f"cannot open the outbox at {path}: {err}") from err
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(Reading)
        self._depth: int = self._db.execute("SELECT count(*) FROM outbox").fetchone()[0]

    @property
    def depth(self) -> int:
        return self._depth

    def append(
        self, *, device: str, session: str, kind: str, make: Callable[[int], Reading]
    ) -> Reading:
        """Give the reading the device's next sequence number and commit it, in one transaction."""
        try:
            with self._transaction():
                row = self._db.execute(
                    "SELECT next_seq FROM sequences WHERE device = ?", (device,)
                ).fetchone()
                seq = row[0] if row else 0
                reading = make(seq)
                self._db.execute(
                    "INSERT OR REPLACE INTO sequences (device, next_seq) VALUES (?, ?)",
                    (device, seq + 1),
                )
                self._db.execute(
                    "INSERT INTO outbox (device, session, kind, reading) VALUES (?, ?, ?, ?)",
                    (device, session, kind, self._encoder.encode(reading)),
                )
                overflow = max(0, self._depth + 1 - self.max_readings)
                if overflow:
                    self._drop_oldest(overflow)
        except sqlite3.Error as err:
            raise OutboxError(f"cannot write to the outbox: {err}") from err
        self._depth += 1 - overflow
        return reading

    def _drop_oldest(self, count: int) -> None:
        self._db.execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)", (count,)
        )
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES ('dropped', ?) "
            "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
            (count,),
        )

    def pending(self, *, after_id: int = 0, limit: int = 1000) -> list[OutboxRow]:
        """Unacknowledged rows in commit order, starting after `after_id`."""
        rows = self._db.execute(
            "SELECT id, device, session, kind, reading FROM outbox "
            "WHERE id > ? ORDER BY id LIMIT ?",
            (after_id, limit),
        ).fetchall()
        return [
            OutboxRow(
                id=r[0], device=r[1], session=r[2], kind=r[3], reading=self._decoder.decode(r[4])
            )
            for r in rows
        ]

    def ack(self, ids: list[int]) -> None:
        if not ids:
            return
        try:
            with self._transaction():
                deleted = self._db.executemany(
                    "DELETE FROM outbox WHERE id = ?", [(i,) for i in ids]
                )
            self._depth -= deleted.rowcount
        except sqlite3.Error as err:
            raise OutboxError(f"cannot delete acknowledged rows: {err}") from err

    def take_dropped(self) -> int:
        """Readings dropped by the bound since the last call (persisted across restarts)."""
        with self._transaction():
            row = self._db.execute("SELECT value FROM counters WHERE name = 'dropped'").fetchone()
            self._db.execute("DELETE FROM counters WHERE name = 'dropped'")
        return int(row[0]) if row else 0

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def checkpoint(self) -> bool:
        """Copy the WAL into the database file (with its fsync); True when all of it was.
        Meant for a worker thread: it uses a connection of its own and a PASSIVE checkpoint,
        which never blocks the event loop's commits."""
        try:
            with contextlib.closing(sqlite3.connect(self._path, isolation_level=None)) as db:
                busy, frames, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as err:
            log.warning("outbox checkpoint failed (retried next time): %s", err)
            return False
        return bool(not busy and frames == copied)

    def close(self) -> None:
        self._db.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")
