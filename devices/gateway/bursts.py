"""Which readings of a cuff's connection burst are history. Pure.

Blood-pressure cuffs connect, indicate every reading they stored while unconnected (oldest
first) and then the one just taken, and disconnect; many (A&D UA-651BLE among them) measure
first and connect afterwards, so "arrived right after connecting" says nothing. What does:
the newest reading of a burst is the patient now; older ones are history. With device times
(the usual case), a reading more than `STORED_GAP_S` older than the burst's newest is
history; without them, every reading but the last is. Either way the newest is never
silenced: a missed live alarm costs more than an alarm on a reading minutes old.
"""

from __future__ import annotations

from devices.gateway.observations import Observation

# Two cuff cycles closer together than this are both the patient now.
STORED_GAP_S = 60.0


def historical_flags(burst: list[Observation]) -> list[bool]:
    times = [o.t_dev for o in burst]
    if burst and all(t is not None for t in times):
        newest = max(t for t in times if t is not None)
        return [
            o.from_storage or newest - t > STORED_GAP_S
            for o, t in zip(burst, times, strict=True)
            if t is not None
        ]
    last = len(burst) - 1
    return [o.from_storage or i < last for i, o in enumerate(burst)]
