"""One client's outgoing queue and its policy. Pure.

* Replies, snapshots and events (alarms, states, escalations, notes, status) keep their order
  in one FIFO, bounded by `max_events`. When it is full the client has fallen behind on alarms:
  the queue marks itself `overflowed` and the hub disconnects the client (close code 4429)
  rather than silently dropping an alarm.
* Vitals are coalesced: one slot per session holding the latest update, sent only when no
  event is waiting. A slow client sees fewer vitals updates, never stale alarms.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

_FIN_TEXT = 0x81  # FIN bit + opcode 1 (text)


def text_frame(data: bytes) -> bytes:
    """`data` as one unmasked, unfragmented websocket text frame (RFC 6455 5.2), the form a
    server sends. Built once per event so every client's socket gets the same bytes."""
    size = len(data)
    if size < 126:  # RFC 6455 5.2: 7-bit, 16-bit or 64-bit payload length
        header = struct.pack("!BB", _FIN_TEXT, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", _FIN_TEXT, 126, size)
    else:
        header = struct.pack("!BBQ", _FIN_TEXT, 127, size)
    return header + data


@dataclass(frozen=True, slots=True)
class Outgoing:
    data: bytes  # the JSON text
    queued_at: float  # monotonic seconds, for the delivery-latency metric
    alarm_id: str | None = None  # delivery receipt: this frame delivers that alarm
    session: str | None = None
    is_event: bool = False  # counted in the delivery-latency histogram
    frame: bytes = field(init=False, repr=False, compare=False)  # `data` as a websocket frame

    def __post_init__(self) -> None:
        object.__setattr__(self, "frame", text_frame(self.data))


class ClientQueue:
    __slots__ = ("_fifo", "_notify", "_vitals", "max_events", "overflowed", "vitals_dropped")

    def __init__(self, max_events: int, notify: Callable[[], None]) -> None:
        self.max_events = max_events
        self._fifo: deque[Outgoing] = deque()
        self._vitals: dict[str, Outgoing] = {}
        self._notify = notify
        self.overflowed = False
        self.vitals_dropped = 0

    @property
    def depth(self) -> int:
        return len(self._fifo) + len(self._vitals)

    def put(self, item: Outgoing) -> bool:
        """Queue an event or reply; False (and `overflowed`) when the client is too far behind."""
        if self.overflowed:
            return False
        if len(self._fifo) >= self.max_events:
            self.overflowed = True
            self._fifo.clear()
            self._vitals.clear()
            self._notify()
            return False
        self._fifo.append(item)
        self._notify()
        return True

    def put_vitals(self, session: str, item: Outgoing) -> None:
        if self.overflowed:
            return
        if session in self._vitals:
            self.vitals_dropped += 1
        self._vitals[session] = item
        self._notify()

    def pop(self) -> Outgoing | None:
        if self._fifo:
            return self._fifo.popleft()
        if self._vitals:
            session = next(iter(self._vitals))
            return self._vitals.pop(session)
        return None
