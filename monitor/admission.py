"""Which readings of a batch are new, and which of those may drive live alarms. Pure: no I/O.

Duplicates are recognised by (device, seq): sequence numbers are monotonic per device, so a
per-device window of the last `window` sequence numbers is enough. A redelivered duplicate is
neither stored again nor re-evaluated. A reading below the window cannot be told apart from a
duplicate; it is stored (InfluxDB overwrites an identical point) but never evaluated.

Historical readings (flagged by the gateway, or older than `lateness_s` behind the newest
reading seen from the device) are stored but do not drive live alarms.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from dataclasses import dataclass

from vigil.wire import Reading, ReadingBatch

MAX_DEVICES = 100_000


@dataclass(frozen=True, slots=True)
class Admitted:
    store: list[Reading]  # new readings: stored
    live: list[Reading]  # the new readings that may drive alarms (a subset of `store`)
    duplicates: int
    late: int  # stored, not evaluated: historical, late or below the dedup window


class _Device:
    __slots__ = ("newest_t", "seen", "top")

    def __init__(self) -> None:
        self.top = -1
        self.newest_t = 0.0
        self.seen: set[int] = set()


class Admission:
    def __init__(
        self, *, window: int = 4096, lateness_s: float = 30.0, max_devices: int = MAX_DEVICES
    ) -> None:
        self._window = window
        self._lateness_s = lateness_s
        self._max_devices = max_devices
        self._devices: OrderedDict[str, _Device] = OrderedDict()

    def admit(self, batch: ReadingBatch) -> Admitted:
        device = self._device(batch.device)
        if len(batch.readings) > 1:  # for one reading the loop below is the cheaper path
            fresh = self._all_fresh(device, batch.readings)
            if fresh is not None:
                return fresh
        store: list[Reading] = []
        live: list[Reading] = []
        duplicates = late = 0
        floor = device.top - self._window
        for reading in batch.readings:
            seq = reading.seq
            if seq in device.seen:
                duplicates += 1
                continue
            store.append(reading)
            if seq <= floor:
                late += 1
                continue
            device.seen.add(seq)
            device.top = max(device.top, seq)
            if reading.historical or reading.t < device.newest_t - self._lateness_s:
                late += 1
                continue
            device.newest_t = max(device.newest_t, reading.t)
            live.append(reading)
        self._forget_below_window(device)
        return Admitted(store=store, live=live, duplicates=duplicates, late=late)

    def _all_fresh(self, device: _Device, readings: list[Reading]) -> Admitted | None:
        """The common case in one pass of builtins: every reading new, in order and on time."""
        seqs = [reading.seq for reading in readings]
        if not seqs or seqs[0] <= device.top:
            return None
        times = [reading.t for reading in readings]
        if (
            times[0] < device.newest_t - self._lateness_s
            or not all(map(operator.lt, seqs, seqs[1:]))
            or not all(map(operator.le, times, times[1:]))
            or any(reading.historical for reading in readings)
        ):
            return None
        device.seen.update(seqs)
        device.top = seqs[-1]
        device.newest_t = max(device.newest_t, times[-1])
        self._forget_below_window(device)
        return Admitted(store=readings, live=readings, duplicates=0, late=0)

    def _forget_below_window(self, device: _Device) -> None:
        if len(device.seen) > 2 * self._window:
            floor = device.top - self._window
            device.seen = {seq for seq in device.seen if seq > floor}

    def _device(self, name: str) -> _Device:
        device = self._devices.get(name)
        if device is None:
            device = self._devices[name] = _Device()
            if len(self._devices) > self._max_devices:
                self._devices.popitem(last=False)
        else:
            self._devices.move_to_end(name)
        return device
