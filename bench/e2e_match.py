"""The pure parts of the end-to-end benchmark: scenarios, expected alarms, matching, figures.

No I/O here. The emulator processes record every heart-rate notification as a
`Notification` (device, notify time, bpm), in the order each strap sent them; the raw MQTT
subscriber sees the gateway's readings (device, seq, gateway receive time, bpm, arrival). A
strap's k-th notification is the gateway's k-th reading of that device (the emulated radio
neither loses nor reorders, and a strap only notifies a subscribed central), so the two lists
are zipped per device and every pair is checked by its bpm; `SeqMap` is the result:
(device, seq) -> notify time. Alarm events carry `device` and `seq` of the reading that
raised them, which closes the loop.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

HR_LIMIT_BPM = 120.0  # peer-compat hr_high: raise above 120, reset at 115 (5 units inside)
HR_RESET_BPM = 115.0
CROSSING_BPM = 130
CROSSING_PERIOD_S = 8.0
CROSSING_DURATION_S = 2.5  # two or three 1 Hz notifications above the limit, then back


@dataclass(frozen=True, slots=True)
class Notification:
    """One measurement notification as the emulated strap sent it."""

    device: str
    t_notify: float  # Unix time just before bumble sent it
    bpm: int


@dataclass(frozen=True, slots=True)
class ReadingSeen:
    """One reading as the raw subscriber saw it on the broker."""

    device: str
    seq: int
    t_gateway: float  # the reading's `t`: the gateway's receive time
    bpm: float
    t_arrival: float  # when the raw subscriber had it


@dataclass(frozen=True, slots=True)
class AlarmSeen:
    """One `raised` hr_high event as a websocket client (or the raw subscriber) got it."""

    device: str
    seq: int
    t_receipt: float
    client: int = 0


@dataclass(slots=True)
class SeqMap:
    """(device, seq) -> the notification behind that reading, and what did not pair up."""

    notify_t: dict[tuple[str, int], float] = field(default_factory=dict)
    readings: dict[tuple[str, int], ReadingSeen] = field(default_factory=dict)
    bpm_mismatches: int = 0  # a pair whose bpm differ: the zip is off for that device
    unpaired_notifications: int = 0
    unpaired_readings: int = 0


def crossing_starts(
    session_index: int, *, first_s: float, seconds: float, slots: int = 8
) -> list[float]:
    """Scenario times of one session's crossings: every `CROSSING_PERIOD_S`, the sessions
    spread over `slots` whole seconds of the period so alarms arrive evenly."""
    offset = first_s + (session_index % slots) * CROSSING_PERIOD_S / slots
    count = max(0, math.floor((seconds - offset - CROSSING_DURATION_S) / CROSSING_PERIOD_S) + 1)
    return [offset + k * CROSSING_PERIOD_S for k in range(count)]


def scenario_toml(patient: str, address: str, seed: int, crossings_s: Iterable[float]) -> str:
    """A one-strap scenario file (docs/emulation.md) with a tachycardia step per crossing."""
    starts = list(crossings_s)
    duration_min = (max(starts, default=0.0) + 60.0) / 60.0
    lines = [
        "[session]",
        f'patient = "{patient}"',
        f"seed = {seed}",
        f"duration_min = {duration_min:.4f}",
        "",
        "[devices.heart_rate]",
        f'address = "{address}"',
        "",
    ]
    for start in starts:
        lines += [
            "[[events]]",
            'kind = "tachycardia"',
            f"at_min = {start / 60.0!r}",
            f"duration_min = {CROSSING_DURATION_S / 60.0!r}",
            f"heart_rate_bpm = {CROSSING_BPM}",
            "ramp_s = 0",
            "",
        ]
    return "\n".join(lines)


def expected_raises(bpms: Sequence[float]) -> list[int]:
    """Indexes of the readings that raise hr_high (peer-compat, delay 0, no latching)."""
    out, active = [], False
    for i, bpm in enumerate(bpms):
        if not active and bpm > HR_LIMIT_BPM:
            out.append(i)
            active = True
        elif active and bpm <= HR_RESET_BPM:
            active = False
    return out


def pair(notifications: Iterable[Notification], readings: Iterable[ReadingSeen]) -> SeqMap:
    """Zip each device's notifications with its readings in seq order (see the module doc)."""
    sent: dict[str, list[Notification]] = {}
    for n in notifications:
        sent.setdefault(n.device, []).append(n)
    seen: dict[str, list[ReadingSeen]] = {}
    for r in readings:
        seen.setdefault(r.device, []).append(r)
    out = SeqMap()
    for device in sent.keys() | seen.keys():
        mine = sent.get(device, [])
        theirs = sorted({r.seq: r for r in seen.get(device, [])}.values(), key=lambda r: r.seq)
        out.unpaired_notifications += max(0, len(mine) - len(theirs))
        out.unpaired_readings += max(0, len(theirs) - len(mine))
        for n, r in zip(mine, theirs, strict=False):
            if round(r.bpm) != n.bpm:
                out.bpm_mismatches += 1
                continue
            out.notify_t[(device, r.seq)] = n.t_notify
            out.readings[(device, r.seq)] = r
    return out


def expected_alarms(seqs: SeqMap) -> set[tuple[str, int]]:
    """(device, seq) of every reading that must raise, from the paired readings' bpm."""
    by_device: dict[str, list[ReadingSeen]] = {}
    for r in seqs.readings.values():
        by_device.setdefault(r.device, []).append(r)
    out: set[tuple[str, int]] = set()
    for device, readings in by_device.items():
        ordered = sorted(readings, key=lambda r: r.seq)
        out.update((device, ordered[i].seq) for i in expected_raises([r.bpm for r in ordered]))
    return out


def percentile(xs: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (as `bench.steps.percentile`, without numpy)."""
    if not xs:
        return None
    ordered = sorted(xs)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _ms(x: float | None) -> float | None:
    return None if x is None else round(1000 * x, 2)


def figures(latencies_s: Sequence[float]) -> dict[str, float | int | None]:
    """count, p50, p99 and max in ms."""
    return {
        "count": len(latencies_s),
        "p50_ms": _ms(percentile(latencies_s, 50)),
        "p99_ms": _ms(percentile(latencies_s, 99)),
        "max_ms": _ms(max(latencies_s) if latencies_s else None),
    }


def alarm_latencies(
    alarms: Iterable[AlarmSeen], seqs: SeqMap, expected: set[tuple[str, int]]
) -> dict[str, object]:
    """Latency from the notification to the first receipt of each expected alarm (per client
    when `clients` > 1 receive the same alarm), plus missing, unexpected and duplicates."""
    firsts: dict[tuple[int, str, int], float] = {}
    copies: Counter[tuple[int, str, int]] = Counter()
    unexpected = 0
    for a in alarms:
        key = (a.device, a.seq)
        if key not in expected:
            unexpected += 1
            continue
        copies[(a.client, *key)] += 1
        firsts[(a.client, *key)] = min(a.t_receipt, firsts.get((a.client, *key), math.inf))
    got = {(device, seq) for _, device, seq in firsts}
    latencies = [t - seqs.notify_t[(device, seq)] for (_, device, seq), t in firsts.items()]
    return {
        **figures(latencies),
        "expected": len(expected),
        "received": len(got),
        "missing": len(expected - got),
        "unexpected": unexpected,
        "duplicates": sum(n - 1 for n in copies.values()),
    }


def reading_latencies(
    seqs: SeqMap, keys: Iterable[tuple[str, int]] | None = None
) -> Mapping[str, dict[str, float | int | None]]:
    """Notification -> gateway receive (`t`) and -> arrival at the raw subscriber."""
    chosen = seqs.readings.keys() if keys is None else keys
    pairs = [(seqs.notify_t[k], seqs.readings[k]) for k in chosen if k in seqs.readings]
    return {
        "to_gateway": figures([r.t_gateway - t for t, r in pairs]),
        "to_mqtt": figures([r.t_arrival - t for t, r in pairs]),
    }


def slow_seconds(
    seqs: SeqMap, *, threshold_s: float = 0.1, top: int = 10
) -> list[dict[str, float | int]]:
    """The seconds of the run (from the first notification) in which notification -> gateway
    receive took longer than `threshold_s`: how many readings, of how many devices, the worst.
    One stall of the gateway's loop delays every strap; one emulator's stall only its own."""
    if not seqs.notify_t:
        return []
    t0 = min(seqs.notify_t.values())
    buckets: dict[int, list[tuple[str, float]]] = {}
    for key, t in seqs.notify_t.items():
        lag = seqs.readings[key].t_gateway - t
        if lag > threshold_s:
            buckets.setdefault(math.floor(t - t0), []).append((key[0], lag))
    worst = sorted(buckets.items(), key=lambda kv: -max(lag for _, lag in kv[1]))[:top]
    return [
        {
            "second": second,
            "readings": len(slow),
            "devices": len({d for d, _ in slow}),
            "max_ms": round(1000 * max(lag for _, lag in slow), 1),
        }
        for second, slow in sorted(worst)
    ]
