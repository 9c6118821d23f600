"""The resume buffer: the last N live events, so a client that reconnects gets what it missed.

Pure. Event ids are assigned here, one counter per hub process (`epoch`); they increase by one
per event across all sessions, so one client sees increasing but not contiguous ids (it is not
sent the events of sessions it cannot see).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One encoded event, and the sessions whose viewers may receive it."""

    event_id: int
    sessions: frozenset[str]
    data: bytes
    alarm_id: str | None = None  # set for events that deliver an alarm to a clinician
    feed: bool = False  # shown in the alarm feed: included in snapshots' recent events


class EventLog:
    __slots__ = ("_events", "_next_id", "epoch")

    def __init__(self, epoch: str, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("the resume buffer needs room for at least one event")
        self.epoch = epoch
        self._events: deque[LoggedEvent] = deque(maxlen=capacity)
        self._next_id = 1

    @property
    def last_id(self) -> int:
        """The id of the newest event, 0 before the first."""
        return self._next_id - 1

    def next_id(self) -> int:
        """The id the next appended event will have (to encode it into the event itself)."""
        return self._next_id

    def append(
        self,
        sessions: frozenset[str],
        data: bytes,
        alarm_id: str | None = None,
        *,
        feed: bool = False,
    ) -> LoggedEvent:
        event = LoggedEvent(self._next_id, sessions, data, alarm_id, feed)
        self._next_id += 1
        self._events.append(event)
        return event

    def since(self, epoch: str, last_id: int) -> list[LoggedEvent] | None:
        """Events after `last_id`, or None when they are no longer all here (send a snapshot)."""
        if epoch != self.epoch or last_id > self.last_id:
            return None
        if last_id == self.last_id:
            return []
        oldest = self._events[0].event_id if self._events else self._next_id
        if last_id < oldest - 1:
            return None
        return [event for event in self._events if event.event_id > last_id]

    def recent(self) -> list[LoggedEvent]:
        return list(self._events)
