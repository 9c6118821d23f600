"""Scenario files: TOML in, a checked `Scenario` out.

Every key is checked (an unknown key is an error, so a typo never silently falls back to a
default) and every error names the file and the key. Times are minutes (`*_min`) or seconds
(`*_s`) as the key says; the format is written up in docs/emulation.md.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from devices.emulation.addresses import normalise_address, static_random_address
from devices.emulation.errors import ScenarioError
from devices.emulation.scenario import (
    ALL_DEVICES,
    MINUTE,
    Desaturation,
    DeviceKind,
    DeviceSpec,
    DoseResponse,
    Event,
    LowBattery,
    Motion,
    Noise,
    Scenario,
    SensorOff,
    Tachycardia,
    Vitals,
    WalkAway,
)

_DEFAULT_START: Final = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
# Advertised-name prefix and model number per kind; names carry no patient data.
_DEVICE_IDENTITY: Final = {
    DeviceKind.HEART_RATE: ("HRM", "EMU-HRM-1"),
    DeviceKind.BLOOD_PRESSURE: ("BPM", "EMU-BPM-1"),
    DeviceKind.PULSE_OXIMETER: ("PLX", "EMU-PLX-1"),
}


@dataclass(frozen=True, slots=True)
class _Table:
    """One TOML table and where it came from, with typed, checked reads."""

    data: Mapping[str, object]
    where: str

    def fail(self, key: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{self.where}.{key}: {problem}")

    def only(self, *keys: str) -> None:
        if unknown := sorted(set(self.data) - set(keys)):
            raise ScenarioError(f"{self.where}: unknown key(s) {unknown}; known: {sorted(keys)}")

    def number(self, key: str, default: float | None = None, *, minimum: float = 0.0) -> float:
        value = self.data.get(key, default)
        if value is None:
            raise self.fail(key, "required")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {value!r}")
        if value < minimum:
            raise self.fail(key, f"must be at least {minimum}, got {value}")
        return float(value)

    def minutes(self, key: str, default_min: float | None = None) -> float:
        return self.number(key, default_min) * MINUTE

    def integer(self, key: str, default: int, *, maximum: int | None = None) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected an integer, got {value!r}")
        if value < 0 or (maximum is not None and value > maximum):
            raise self.fail(key, f"out of range: {value}")
        return value

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"expected a non-empty string, got {value!r}")
        return value

    def table(self, key: str) -> _Table | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(key, "expected a table")
        return _Table(value, f"{self.where}.{key}")

    def tables(self, key: str) -> list[_Table]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self.fail(key, "expected an array of tables ([[...]])")
        return [_Table(v, f"{self.where}.{key}[{i}]") for i, v in enumerate(value)]

    def kind(self, key: str) -> DeviceKind:
        value = self.data.get(key)
        try:
            return DeviceKind(str(value))
        except ValueError:
            raise self.fail(key, f"expected one of {[k.value for k in DeviceKind]}") from None

    def kinds(self, key: str) -> frozenset[DeviceKind]:
        value = self.data.get(key)
        if value is None:
            return ALL_DEVICES
        if not isinstance(value, list):
            raise self.fail(key, "expected a list of device kinds")
        try:
            return frozenset(DeviceKind(str(v)) for v in value)
        except ValueError:
            raise self.fail(key, f"expected kinds among {[k.value for k in DeviceKind]}") from None

    def moment(self, key: str, default: datetime) -> datetime:
        value = self.data.get(key, default)
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise self.fail(key, "expected an offset date-time such as 2025-01-06T09:00:00Z")
        return value.astimezone(UTC)


def load_scenario(path: Path, *, seed: int | None = None) -> Scenario:
    """Read and check a scenario file. Raises `ScenarioError` naming the file and the key.

    `seed` replaces the file's seed, and so also the default device addresses.
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ScenarioError(f"{path}: {error}") from error
    return parse_scenario(document, source=str(path), seed=seed)


def parse_scenario(
    document: Mapping[str, object], *, source: str = "<scenario>", seed: int | None = None
) -> Scenario:
    root = _Table(document, source)
    root.only("session", "baseline", "noise", "dose", "devices", "events")
    session = root.table("session") or _Table({}, f"{source}.session")
    session.only("patient", "seed", "duration_min", "start")
    patient = session.text("patient")
    file_seed = session.integer("seed", 0)
    seed = file_seed if seed is None else seed
    devices = root.table("devices") or _Table({}, f"{source}.devices")
    devices.only(*(k.value for k in DeviceKind))
    return Scenario(
        patient=patient,
        seed=seed,
        duration_s=session.minutes("duration_min", 120),
        start=session.moment("start", _DEFAULT_START),
        baseline=_baseline(root.table("baseline") or _Table({}, f"{source}.baseline")),
        noise=_noise(root.table("noise") or _Table({}, f"{source}.noise")),
        dose=_dose(dose) if (dose := root.table("dose")) else None,
        events=tuple(_event(t) for t in root.tables("events")),
        devices=tuple(
            _device(table, kind, patient, seed)
            for kind in DeviceKind
            if (table := devices.table(kind.value)) is not None
        ),
    )


def _baseline(table: _Table) -> Vitals:
    table.only("heart_rate_bpm", "systolic_mmhg", "diastolic_mmhg", "spo2_percent")
    return Vitals(
        heart_rate_bpm=table.number("heart_rate_bpm", 72, minimum=25),
        systolic_mmhg=table.number("systolic_mmhg", 122, minimum=50),
        diastolic_mmhg=table.number("diastolic_mmhg", 78, minimum=30),
        spo2_percent=table.number("spo2_percent", 98, minimum=50),
    )


def _noise(table: _Table) -> Noise:
    table.only("heart_rate_bpm", "systolic_mmhg", "diastolic_mmhg", "spo2_percent")
    default = Noise()
    return Noise(
        heart_rate_bpm=table.number("heart_rate_bpm", default.heart_rate_bpm),
        systolic_mmhg=table.number("systolic_mmhg", default.systolic_mmhg),
        diastolic_mmhg=table.number("diastolic_mmhg", default.diastolic_mmhg),
        spo2_percent=table.number("spo2_percent", default.spo2_percent),
    )


def _dose(table: _Table) -> DoseResponse:
    table.only(
        "at_min",
        "peak_after_min",
        "lasts_min",
        "systolic_rise_mmhg",
        "diastolic_rise_mmhg",
        "heart_rate_rise_bpm",
    )
    default = DoseResponse(at_s=0)
    return DoseResponse(
        at_s=table.minutes("at_min"),
        peak_after_s=table.minutes("peak_after_min", default.peak_after_s / MINUTE),
        lasts_s=table.minutes("lasts_min", default.lasts_s / MINUTE),
        systolic_rise_mmhg=table.number("systolic_rise_mmhg", default.systolic_rise_mmhg),
        diastolic_rise_mmhg=table.number("diastolic_rise_mmhg", default.diastolic_rise_mmhg),
        heart_rate_rise_bpm=table.number("heart_rate_rise_bpm", default.heart_rate_rise_bpm),
    )


def _event(table: _Table) -> Event:
    kind = table.text("kind")
    window = ("kind", "at_min", "duration_min")
    match kind:
        case "desaturation":
            table.only(*window, "spo2_drop_percent", "ramp_s", "heart_rate_rise_bpm")
            return Desaturation(
                start_s=table.minutes("at_min"),
                duration_s=table.minutes("duration_min"),
                spo2_drop_percent=table.number("spo2_drop_percent", 8),
                ramp_s=table.number("ramp_s", 60),
                heart_rate_rise_bpm=table.number("heart_rate_rise_bpm", 0),
            )
        case "tachycardia":
            table.only(*window, "heart_rate_bpm", "ramp_s")
            return Tachycardia(
                start_s=table.minutes("at_min"),
                duration_s=table.minutes("duration_min"),
                heart_rate_bpm=table.number("heart_rate_bpm", 125, minimum=25),
                ramp_s=table.number("ramp_s", 30),
            )
        case "motion":
            table.only(*window, "devices")
            return Motion(
                start_s=table.minutes("at_min"),
                duration_s=table.minutes("duration_min"),
                devices=table.kinds("devices"),
            )
        case "sensor_off":
            table.only(*window, "device", "drop_link_after_s")
            drop = table.data.get("drop_link_after_s")
            return SensorOff(
                start_s=table.minutes("at_min"),
                duration_s=table.minutes("duration_min"),
                device=table.kind("device"),
                drop_link_after_s=None if drop is None else table.number("drop_link_after_s"),
            )
        case "walk_away":
            table.only(*window, "devices")
            return WalkAway(
                start_s=table.minutes("at_min"),
                duration_s=table.minutes("duration_min"),
                devices=table.kinds("devices"),
            )
        case "low_battery":
            table.only("kind", "at_min", "device", "battery_percent")
            return LowBattery(
                start_s=table.minutes("at_min"),
                device=table.kind("device"),
                battery_percent=table.integer("battery_percent", 8, maximum=100),
            )
        case _:
            raise table.fail(
                "kind",
                f"unknown event {kind!r}; known: desaturation, tachycardia, motion, "
                "sensor_off, walk_away, low_battery",
            )


def _device(table: _Table, kind: DeviceKind, patient: str, seed: int) -> DeviceSpec:
    table.only(
        "name",
        "address",
        "manufacturer",
        "model",
        "serial",
        "firmware",
        "battery_percent",
        "battery_drain_percent_per_hour",
        "period_s",
        "cycle_interval_min",
        "first_cycle_min",
        "inflation_s",
        "spot_check_interval_min",
    )
    prefix, model = _DEVICE_IDENTITY[kind]
    default_address = static_random_address(f"{patient}:{seed}:{kind.value}")
    try:
        address = normalise_address(table.text("address", default_address))
    except ValueError as error:
        raise table.fail("address", str(error)) from None
    serial = "EMU" + hashlib.sha256(address.encode()).hexdigest()[:8].upper()
    base = DeviceSpec(kind=kind, name="", address=address)
    return DeviceSpec(
        kind=kind,
        name=table.text("name", f"{prefix}-{address[-5:].replace(':', '')}"),
        address=address,
        manufacturer=table.text("manufacturer", base.manufacturer),
        model=table.text("model", model),
        serial=table.text("serial", serial),
        firmware=table.text("firmware", base.firmware),
        battery_percent=table.integer("battery_percent", base.battery_percent, maximum=100),
        battery_drain_percent_per_hour=table.number(
            "battery_drain_percent_per_hour", base.battery_drain_percent_per_hour
        ),
        period_s=table.number("period_s", base.period_s, minimum=0.05),
        cycle_interval_s=table.minutes("cycle_interval_min", base.cycle_interval_s / MINUTE),
        first_cycle_s=table.minutes("first_cycle_min", base.first_cycle_s / MINUTE),
        inflation_s=table.number("inflation_s", base.inflation_s, minimum=1),
        spot_check_interval_s=table.minutes(
            "spot_check_interval_min", base.spot_check_interval_s / MINUTE
        ),
    )
