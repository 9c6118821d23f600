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

import msgspec

from monitor.columns import Columns
from vigil.wire import Reading, ReadingBatch

MAX_DEVICES = 100_000


class Admitted(msgspec.Struct, frozen=True, gc=False):  # built per message: see Columns
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

    def admit(self, batch: ReadingBatch, columns: Columns | None = None) -> Admitted:
        """`columns`: the batch's readings as columns, when they are plain (a faster check)."""
        device = self._device(batch.device)
        readings = batch.readings
        if columns is not None:
            if self._all_fresh(device, columns.seqs, columns.times):
                return Admitted(store=readings, live=readings, duplicates=0, late=0)
        elif len(readings) > 1 and not any(reading.historical for reading in readings):
            # For one reading the loop below is the cheaper path.
            seqs, times = [r.seq for r in readings], [r.t for r in readings]
            if self._all_fresh(device, seqs, times):
                return Admitted(store=readings, live=readings, duplicates=0, late=0)
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

    def _all_fresh(self, device: _Device, seqs: list[int], times: list[float]) -> bool:
        """The common case in one pass of builtins: every reading new, in order and on time
        (and live: the caller has checked `historical`). If so, they are recorded as seen."""
        if not seqs or seqs[0] <= device.top:
            return False
        if (
            times[0] < device.newest_t - self._lateness_s
            or not all(map(operator.lt, seqs, seqs[1:]))
            or not all(map(operator.le, times, times[1:]))
        ):
            return False
        device.seen.update(seqs)
        device.top = seqs[-1]
        device.newest_t = max(device.newest_t, times[-1])
        self._forget_below_window(device)
        return True

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
