"""A patient session in scenario time: what the vitals, device flags and links are at time t.

Pure: no asyncio, no bumble, no clock. A `Scenario` is data (usually loaded from TOML by
`devices.emulation.scenario_file`); `SessionModel` answers questions about it and is
deterministic given the scenario's seed. Scenario time is seconds since the session started;
the wearables map it to real time through a `Clock`.

Defaults and their sources:

- Ketamine-like blood-pressure rise: peaks about 40 minutes after the dose and lasts about
  4 hours (Spravato prescribing information); mean peak rise +16/+11 mmHg after IV ketamine
  (Yale, 2,342 infusions, doi:10.1016/j.genhosppsych.2024.07.001).
- A heart-rate strap drops its link 20-30 s after losing skin contact (Polar H7/H10/OH1
  behaviour, docs gatt-reference); the default delay is drawn in that range from the seed.
- Cuffs cycle every 5 minutes by default (automatic mode of home monitors; configurable).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from devices.emulation.errors import ScenarioError

MINUTE: Final = 60.0
HOUR: Final = 3600.0
# Slow drift of each vital around its baseline: an AR(1) process with this time constant.
_DRIFT_TIME_CONSTANT_S: Final = 180.0
# Beat-to-beat variability of the RR intervals (relative standard deviation).
_HRV_RELATIVE_SD: Final = 0.03
# Strap contact-loss link drop delay range, seconds (Polar behaviour).
_STRAP_DROP_RANGE_S: Final = (20.0, 30.0)
# A gap this long in a beat train (the strap was away) restarts it at the current time.
_BEAT_TRAIN_GAP_S: Final = 10.0
# Cuff: pressure overshoot above systolic before deflation, and the reading's own error.
_CUFF_OVERSHOOT_MMHG: Final = 30.0
_CUFF_ERROR_SD_MMHG: Final = 2.0
_CUFF_MOTION_ERROR_SD_MMHG: Final = 8.0
# Pulse oximeter: how deep motion artifacts pull SpO2 down (scale of a half-normal).
_PLX_MOTION_DIP_PERCENT: Final = 3.0


class DeviceKind(StrEnum):
    HEART_RATE = "heart_rate"
    BLOOD_PRESSURE = "blood_pressure"
    PULSE_OXIMETER = "pulse_oximeter"


ALL_DEVICES: Final = frozenset(DeviceKind)


class Presence(StrEnum):
    """Whether a wearable is on the air."""

    PRESENT = "present"
    AWAY = "away"
    """Out of range (walked away): the central sees the link end with reason 0x08."""
    ASLEEP = "asleep"
    """Powered down after losing skin contact (a strap): no link, no advertising."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Vitals:
    heart_rate_bpm: float
    systolic_mmhg: float
    diastolic_mmhg: float
    spo2_percent: float

    @property
    def mean_arterial_mmhg(self) -> float:
        return (self.systolic_mmhg + 2 * self.diastolic_mmhg) / 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Noise:
    """Standard deviation of each vital's slow drift around its baseline."""

    heart_rate_bpm: float = 2.0
    systolic_mmhg: float = 3.0
    diastolic_mmhg: float = 2.0
    spo2_percent: float = 0.4


@dataclass(frozen=True, slots=True, kw_only=True)
class DoseResponse:
    """A ketamine-like haemodynamic response to a dose given at `at_s`."""

    at_s: float
    peak_after_s: float = 40 * MINUTE
    lasts_s: float = 4 * HOUR
    systolic_rise_mmhg: float = 16.0
    diastolic_rise_mmhg: float = 11.0
    heart_rate_rise_bpm: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.peak_after_s < self.lasts_s:
            raise ScenarioError(
                f"dose: need 0 < peak_after ({self.peak_after_s} s) < lasts ({self.lasts_s} s)"
            )

    def envelope(self, t: float) -> float:
        """0 before the dose, a smooth rise to 1 at the peak, a smooth fall to 0 at the end."""
        since = t - self.at_s
        if since <= 0 or since >= self.lasts_s:
            return 0.0
        if since <= self.peak_after_s:
            return (1 - math.cos(math.pi * since / self.peak_after_s)) / 2
        fall = (since - self.peak_after_s) / (self.lasts_s - self.peak_after_s)
        return (1 + math.cos(math.pi * fall)) / 2


def _trapezoid(t: float, start_s: float, duration_s: float, ramp_s: float) -> float:
    """0 outside [start, start + duration), ramps of `ramp_s` at both ends, 1 between."""
    since = t - start_s
    if since < 0 or since >= duration_s:
        return 0.0
    ramp = min(ramp_s, duration_s / 2)
    if ramp <= 0:
        return 1.0
    return min(1.0, since / ramp, (duration_s - since) / ramp)


@dataclass(frozen=True, slots=True, kw_only=True)
class Desaturation:
    start_s: float
    duration_s: float
    spo2_drop_percent: float = 8.0
    ramp_s: float = 60.0
    heart_rate_rise_bpm: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Tachycardia:
    start_s: float
    duration_s: float
    heart_rate_bpm: float = 125.0
    ramp_s: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Motion:
    """Movement artifacts: cuff readings flagged body movement, oximeter questionable."""

    start_s: float
    duration_s: float
    devices: frozenset[DeviceKind] = ALL_DEVICES


@dataclass(frozen=True, slots=True, kw_only=True)
class SensorOff:
    """The sensor loses the skin (strap or oximeter probe); a strap then drops its link."""

    start_s: float
    duration_s: float
    device: DeviceKind
    drop_link_after_s: float | None = None
    """Strap only: contact loss to link drop; `None` draws it in 20-30 s from the seed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WalkAway:
    """The patient walks out of range: links end (reason 0x08), devices re-advertise later."""

    start_s: float
    duration_s: float
    devices: frozenset[DeviceKind] = ALL_DEVICES


@dataclass(frozen=True, slots=True, kw_only=True)
class LowBattery:
    """The battery reads `battery_percent` from `start_s` on (and keeps draining)."""

    start_s: float
    device: DeviceKind
    battery_percent: int = 8


Event = Desaturation | Tachycardia | Motion | SensorOff | WalkAway | LowBattery


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSpec:
    """One wearable of the session: identity, battery and timing (all in scenario time)."""

    kind: DeviceKind
    name: str
    address: str
    manufacturer: str = "Vigil Emulation"
    model: str = ""
    serial: str = ""
    firmware: str = "1.0.0"
    battery_percent: int = 100
    battery_drain_percent_per_hour: float = 1.0
    period_s: float = 1.0
    """Heart rate and continuous SpO2: one notification per period."""
    cycle_interval_s: float = 5 * MINUTE
    first_cycle_s: float = 1 * MINUTE
    inflation_s: float = 30.0
    """Cuff: one measurement every interval from `first_cycle_s`, inflating for this long."""
    spot_check_interval_s: float = 10 * MINUTE


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """A patient session. `patient` is a pseudonymous id: it is never logged."""

    patient: str
    seed: int
    duration_s: float
    start: datetime
    baseline: Vitals
    noise: Noise = Noise()
    dose: DoseResponse | None = None
    events: tuple[Event, ...] = ()
    devices: tuple[DeviceSpec, ...] = ()

    def __post_init__(self) -> None:
        if self.duration_s <= 0:
            raise ScenarioError(f"duration must be positive, got {self.duration_s} s")
        if self.start.utcoffset() is None:
            raise ScenarioError("start must carry a time zone (UTC)")
        kinds = [d.kind for d in self.devices]
        if len(set(kinds)) != len(kinds):
            raise ScenarioError(f"one device of each kind per patient, got {kinds}")
        for event in self.events:
            if isinstance(event, SensorOff) and event.device is DeviceKind.BLOOD_PRESSURE:
                raise ScenarioError("sensor_off applies to heart_rate or pulse_oximeter")

    def device(self, kind: DeviceKind) -> DeviceSpec | None:
        return next((d for d in self.devices if d.kind is kind), None)

    def wall_time(self, t: float) -> datetime:
        """The device clocks' reading at scenario time `t`."""
        return self.start + timedelta(seconds=t)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceState:
    """What a wearable knows about itself at scenario time t."""

    presence: Presence
    contact: bool
    motion: bool
    battery_percent: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CuffCycle:
    """One cuff measurement: inflation from `start_s`, the reading ready at `end_s`."""

    index: int
    start_s: float
    end_s: float
    systolic_mmhg: float
    diastolic_mmhg: float
    mean_arterial_mmhg: float
    pulse_rate_bpm: float
    body_movement: bool

    def cuff_pressure_mmhg(self, t: float) -> float:
        """Cuff pressure: a linear inflation past systolic, then a linear deflation."""
        if not self.start_s <= t < self.end_s:
            return 0.0
        top = self.systolic_mmhg + _CUFF_OVERSHOOT_MMHG
        turn = self.start_s + 0.4 * (self.end_s - self.start_s)
        if t <= turn:
            return top * (t - self.start_s) / (turn - self.start_s)
        return top * (self.end_s - t) / (self.end_s - turn)


def _rng(*parts: object) -> random.Random:
    """A generator seeded from text, so draws do not depend on PYTHONHASHSEED or call order."""
    return random.Random(":".join(map(str, parts)))  # noqa: S311 (simulation, not secrets)


def _drift_track(rng: random.Random, sd: float, seconds: int) -> tuple[float, ...]:
    """AR(1) samples, one per second, with stationary standard deviation `sd`."""
    keep = math.exp(-1 / _DRIFT_TIME_CONSTANT_S)
    innovation = sd * math.sqrt(1 - keep * keep)
    value = rng.gauss(0.0, sd)
    samples = []
    for _ in range(seconds + 1):
        samples.append(value)
        value = keep * value + rng.gauss(0.0, innovation)
    return tuple(samples)


def _sample(track: tuple[float, ...], t: float) -> float:
    """Linear interpolation between the per-second samples (at least two), held at both ends."""
    last = len(track) - 1
    position = min(max(t, 0.0), float(last))
    index = min(int(position), last - 1)
    return track[index] + (track[index + 1] - track[index]) * (position - index)


class SessionModel:
    """Answers "what is true at scenario time t" for one `Scenario`."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        seconds = math.ceil(scenario.duration_s) + 1
        noise = scenario.noise
        seed = scenario.seed
        self._drift = {
            name: _drift_track(_rng(seed, "drift", name), sd, seconds)
            for name, sd in (
                ("heart_rate", noise.heart_rate_bpm),
                ("systolic", noise.systolic_mmhg),
                ("diastolic", noise.diastolic_mmhg),
                ("spo2", noise.spo2_percent),
            )
        }
        self._cycles = self._build_cuff_cycles()

    # Vitals -------------------------------------------------------------------------------

    def vitals(self, t: float) -> Vitals:
        """The patient's true vitals at `t` (what a perfect sensor would read)."""
        base = self.scenario.baseline
        dose = self.scenario.dose
        rise = dose.envelope(t) if dose else 0.0
        heart_rate = base.heart_rate_bpm + self._drift_at("heart_rate", t)
        systolic = base.systolic_mmhg + self._drift_at("systolic", t)
        diastolic = base.diastolic_mmhg + self._drift_at("diastolic", t)
        spo2 = base.spo2_percent + self._drift_at("spo2", t)
        if dose:
            heart_rate += dose.heart_rate_rise_bpm * rise
            systolic += dose.systolic_rise_mmhg * rise
            diastolic += dose.diastolic_rise_mmhg * rise
        for event in self.scenario.events:
            if isinstance(event, Desaturation):
                level = _trapezoid(t, event.start_s, event.duration_s, event.ramp_s)
                spo2 -= event.spo2_drop_percent * level
                heart_rate += event.heart_rate_rise_bpm * level
            elif isinstance(event, Tachycardia):
                level = _trapezoid(t, event.start_s, event.duration_s, event.ramp_s)
                heart_rate += (event.heart_rate_bpm - heart_rate) * level
        return Vitals(
            heart_rate_bpm=max(heart_rate, 25.0),
            systolic_mmhg=max(systolic, 50.0),
            diastolic_mmhg=max(min(diastolic, systolic - 10), 30.0),
            spo2_percent=min(max(spo2, 50.0), 100.0),
        )

    def _drift_at(self, name: str, t: float) -> float:
        return _sample(self._drift[name], t)

    # Devices ------------------------------------------------------------------------------

    def device_state(self, kind: DeviceKind, t: float) -> DeviceState:
        contact, motion, away, asleep = True, False, False, False
        for event in self.scenario.events:
            if isinstance(event, Motion):
                motion |= kind in event.devices and _within(t, event.start_s, event.duration_s)
            elif isinstance(event, WalkAway):
                away |= kind in event.devices and _within(t, event.start_s, event.duration_s)
            elif (
                isinstance(event, SensorOff)
                and event.device is kind
                and _within(t, event.start_s, event.duration_s)
            ):
                contact = False
                drop_at = event.start_s + self.link_drop_delay_s(event)
                asleep |= kind is DeviceKind.HEART_RATE and t >= drop_at
        presence = Presence.AWAY if away else Presence.ASLEEP if asleep else Presence.PRESENT
        return DeviceState(
            presence=presence,
            contact=contact,
            motion=motion,
            battery_percent=self.battery_percent(kind, t),
        )

    def link_drop_delay_s(self, event: SensorOff) -> float:
        """How long after losing contact a strap drops its link."""
        if event.drop_link_after_s is not None:
            return event.drop_link_after_s
        return _rng(self.scenario.seed, "strap-drop", event.start_s).uniform(*_STRAP_DROP_RANGE_S)

    def battery_percent(self, kind: DeviceKind, t: float) -> int:
        spec = self.scenario.device(kind)
        level = float(spec.battery_percent) if spec else 100.0
        drain = spec.battery_drain_percent_per_hour if spec else 0.0
        since = 0.0
        for event in self.scenario.events:
            if (
                isinstance(event, LowBattery)
                and event.device is kind
                and since <= event.start_s <= t
            ):
                level, since = float(event.battery_percent), event.start_s
        return max(0, min(100, math.ceil(level - drain * (max(t, 0.0) - since) / HOUR)))

    # Cuff and spot checks -----------------------------------------------------------------

    def cuff_cycles(self) -> tuple[CuffCycle, ...]:
        return self._cycles

    def _build_cuff_cycles(self) -> tuple[CuffCycle, ...]:
        spec = self.scenario.device(DeviceKind.BLOOD_PRESSURE)
        if spec is None or spec.cycle_interval_s <= 0:
            return ()
        cycles: list[CuffCycle] = []
        start = spec.first_cycle_s
        while start < self.scenario.duration_s:
            index = len(cycles)
            end = start + spec.inflation_s
            moving = self._moving(DeviceKind.BLOOD_PRESSURE, start, end)
            error_sd = _CUFF_MOTION_ERROR_SD_MMHG if moving else _CUFF_ERROR_SD_MMHG
            rng = _rng(self.scenario.seed, "cuff", index)
            true = self.vitals(end)
            systolic = round(true.systolic_mmhg + rng.gauss(0.0, error_sd))
            diastolic = round(min(true.diastolic_mmhg + rng.gauss(0.0, error_sd), systolic - 10))
            cycles.append(
                CuffCycle(
                    index=index,
                    start_s=start,
                    end_s=end,
                    systolic_mmhg=systolic,
                    diastolic_mmhg=diastolic,
                    mean_arterial_mmhg=round((systolic + 2 * diastolic) / 3),
                    pulse_rate_bpm=round(true.heart_rate_bpm),
                    body_movement=moving,
                )
            )
            start += spec.cycle_interval_s
        return tuple(cycles)

    def _moving(self, kind: DeviceKind, start_s: float, end_s: float) -> bool:
        return any(
            isinstance(e, Motion)
            and kind in e.devices
            and e.start_s < end_s
            and start_s < e.start_s + e.duration_s
            for e in self.scenario.events
        )

    def spot_check_times(self) -> tuple[float, ...]:
        spec = self.scenario.device(DeviceKind.PULSE_OXIMETER)
        if spec is None or spec.spot_check_interval_s <= 0:
            return ()
        count = math.ceil(self.scenario.duration_s / spec.spot_check_interval_s)
        times = (k * spec.spot_check_interval_s for k in range(1, count + 1))
        return tuple(t for t in times if t < self.scenario.duration_s)

    def spo2_reading(self, t: float) -> float:
        """What the oximeter reads at `t`: the true SpO2, pulled down by motion artifacts."""
        spo2 = self.vitals(t).spo2_percent
        if self.device_state(DeviceKind.PULSE_OXIMETER, t).motion:
            dip = abs(_rng(self.scenario.seed, "plx-motion", math.floor(t)).gauss(0.0, 1.0))
            spo2 -= _PLX_MOTION_DIP_PERCENT * dip
        return max(spo2, 50.0)


def _within(t: float, start_s: float, duration_s: float) -> bool:
    return start_s <= t < start_s + duration_s


class BeatTrain:
    """Heart beats in scenario time, for the RR intervals a strap sends.

    Stateful on purpose (a strap reports the beats since its last notification); the beats
    themselves depend only on the scenario and the start time.
    """

    def __init__(self, model: SessionModel, start_s: float) -> None:
        self._model = model
        self._last_beat_s = start_s
        self._next_rr_s: float | None = None
        self._rng = _rng(model.scenario.seed, "beats", start_s)

    def advance(self, t: float) -> tuple[float, ...]:
        """RR intervals (ms, oldest first) of the beats after the previous call, up to `t`."""
        if t - self._last_beat_s > _BEAT_TRAIN_GAP_S:
            self._last_beat_s, self._next_rr_s = t, None
            return ()
        intervals: list[float] = []
        while True:
            if self._next_rr_s is None:
                heart_rate = self._model.vitals(self._last_beat_s).heart_rate_bpm
                self._next_rr_s = 60.0 / heart_rate * (1 + self._rng.gauss(0.0, _HRV_RELATIVE_SD))
            if self._last_beat_s + self._next_rr_s > t:
                return tuple(intervals)
            self._last_beat_s += self._next_rr_s
            intervals.append(self._next_rr_s * 1000)
            self._next_rr_s = None
