"""Commands forwarded to the engine, awaiting its `CommandResult`. Pure.

Each `Command` the hub publishes carries a `request_id` of the hub's own (`<epoch>.<n>`); the
engine echoes it in its `CommandResult`, so the result can be relayed to the connection that
sent the command with that connection's `req`. Results that match nothing here (no request id,
another hub's, or an entry already evicted) are relayed by account and session instead
(`HubCore`). Bounded: the oldest entries go first, as a command's result comes back within
moments or not at all.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PendingCommand:
    client_id: int
    user: str
    command: str  # the websocket command name: ack, audio_pause, escalate, note
    req: str | None  # the client's request id, echoed in the relayed result


class PendingCommands:
    __slots__ = ("_entries", "_ids", "_prefix", "capacity")

    def __init__(self, prefix: str, capacity: int = 1000) -> None:
        if capacity < 1:
            raise ValueError("room for at least one pending command is needed")
        self.capacity = capacity
        self._prefix = prefix
        self._ids = itertools.count(1)
        self._entries: OrderedDict[str, PendingCommand] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, pending: PendingCommand) -> str:
        """Remember `pending`; returns the request id to send with the command."""
        request_id = f"{self._prefix}.{next(self._ids)}"
        self._entries[request_id] = pending
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return request_id

    def pop(self, request_id: str | None) -> PendingCommand | None:
        if request_id is None:
            return None
        return self._entries.pop(request_id, None)
