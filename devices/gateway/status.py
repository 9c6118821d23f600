"""The latest status of each device, published retained on change (and again after a reconnect)."""

from __future__ import annotations

import asyncio

import msgspec

from vigil.wire import DeviceStatus


class StatusBoard:
    def __init__(self) -> None:
        self._latest: dict[str, DeviceStatus] = {}
        self._dirty: set[str] = set()
        self.changed = asyncio.Event()

    def update(self, status: DeviceStatus) -> None:
        previous = self._latest.get(status.device)
        # `t` and `last_seen` move on every reading; only a change of substance is news.
        if (
            previous is not None
            and msgspec.structs.replace(previous, t=status.t, last_seen=status.last_seen) == status
        ):
            self._latest[status.device] = status
            return
        self._latest[status.device] = status
        self._dirty.add(status.device)
        self.changed.set()

    def get(self, device: str) -> DeviceStatus | None:
        return self._latest.get(device)

    def take_dirty(self) -> list[DeviceStatus]:
        dirty = [self._latest[d] for d in sorted(self._dirty)]
        self._dirty.clear()
        self.changed.clear()
        return dirty

    def mark_all_dirty(self) -> None:
        self._dirty = set(self._latest)
        if self._dirty:
            self.changed.set()
