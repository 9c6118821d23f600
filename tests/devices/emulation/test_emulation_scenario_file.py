"""Scenario files: the shipped examples load, and every mistake names its file and key."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.emulation.errors import ScenarioError
from devices.emulation.scenario import (
    ALL_DEVICES,
    Desaturation,
    DeviceKind,
    DeviceSpec,
    DoseResponse,
    LowBattery,
    Motion,
    Noise,
    Scenario,
    SensorOff,
    Tachycardia,
    Vitals,
    WalkAway,
)
from devices.emulation.scenario_file import load_scenario, parse_scenario

SCENARIOS = Path(__file__).parents[3] / "scenarios"


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path)

    assert scenario.devices
    assert scenario.dose is not None


def test_the_typical_session_loads_as_written() -> None:
    scenario = load_scenario(SCENARIOS / "typical-session.toml")

    addresses = {d.kind: d.address for d in scenario.devices}
    serials = {d.kind: d.serial for d in scenario.devices}
    assert scenario == Scenario(
        patient="demo-01",
        seed=7,
        duration_s=7200,
        start=datetime(2025, 1, 6, 9, 0, tzinfo=UTC),
        baseline=Vitals(heart_rate_bpm=72, systolic_mmhg=124, diastolic_mmhg=79, spo2_percent=97.5),
        noise=Noise(heart_rate_bpm=2.5, systolic_mmhg=3, diastolic_mmhg=2, spo2_percent=0.4),
        dose=DoseResponse(
            at_s=900,
            peak_after_s=2400,
            lasts_s=14400,
            systolic_rise_mmhg=16,
            diastolic_rise_mmhg=11,
            heart_rate_rise_bpm=6,
        ),
        events=(
            Desaturation(start_s=3720, duration_s=180, spo2_drop_percent=6),
            Motion(
                start_s=4200,
                duration_s=120,
                devices=frozenset({DeviceKind.BLOOD_PRESSURE, DeviceKind.PULSE_OXIMETER}),
            ),
            SensorOff(start_s=4800, duration_s=120, device=DeviceKind.HEART_RATE),
            WalkAway(start_s=5700, duration_s=180, devices=ALL_DEVICES),
        ),
        devices=(
            DeviceSpec(
                kind=DeviceKind.HEART_RATE,
                name=f"HRM-{addresses[DeviceKind.HEART_RATE][-5:].replace(':', '')}",
                address=addresses[DeviceKind.HEART_RATE],
                model="EMU-HRM-1",
                serial=serials[DeviceKind.HEART_RATE],
                battery_percent=84,
            ),
            DeviceSpec(
                kind=DeviceKind.BLOOD_PRESSURE,
                name=f"BPM-{addresses[DeviceKind.BLOOD_PRESSURE][-5:].replace(':', '')}",
                address=addresses[DeviceKind.BLOOD_PRESSURE],
                model="EMU-BPM-1",
                serial=serials[DeviceKind.BLOOD_PRESSURE],
                cycle_interval_s=300,
                first_cycle_s=60,
                inflation_s=30,
            ),
            DeviceSpec(
                kind=DeviceKind.PULSE_OXIMETER,
                name=f"PLX-{addresses[DeviceKind.PULSE_OXIMETER][-5:].replace(':', '')}",
                address=addresses[DeviceKind.PULSE_OXIMETER],
                model="EMU-PLX-1",
                serial=serials[DeviceKind.PULSE_OXIMETER],
                spot_check_interval_s=600,
            ),
        ),
    )


def test_default_identities_are_deterministic_static_random_and_distinct() -> None:
    document = {
        "session": {"patient": "p", "seed": 3},
        "devices": {k.value: {} for k in DeviceKind},
    }
    first = parse_scenario(document)
    again = parse_scenario(document)
    other = parse_scenario({**document, "session": {"patient": "p", "seed": 4}})

    addresses = [d.address for d in first.devices]
    assert addresses == [d.address for d in again.devices]
    assert addresses != [d.address for d in other.devices]
    assert len(set(addresses)) == 3
    assert all(int(a[:2], 16) & 0xC0 == 0xC0 for a in addresses)  # static random
    assert all(d.serial.startswith("EMU") and len(d.serial) == 11 for d in first.devices)


def test_explicit_identity_and_defaults_of_a_minimal_file() -> None:
    scenario = parse_scenario(
        {
            "session": {"patient": "p"},
            "devices": {
                "heart_rate": {
                    "name": "Strap 1",
                    "address": "c0-00-00-00-00-0a",
                    "manufacturer": "ACME",
                    "serial": "S1",
                    "firmware": "2.1",
                    "period_s": 0.5,
                }
            },
            "events": [
                {"kind": "low_battery", "device": "heart_rate", "at_min": 1},
                {"kind": "tachycardia", "at_min": 2, "duration_min": 1},
                {
                    "kind": "sensor_off",
                    "device": "heart_rate",
                    "at_min": 3,
                    "duration_min": 1,
                    "drop_link_after_s": 22,
                },
                {"kind": "walk_away", "at_min": 4, "duration_min": 1, "devices": ["heart_rate"]},
            ],
        }
    )

    assert scenario.seed == 0
    assert scenario.duration_s == 7200
    assert scenario.start == datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    assert scenario.baseline == Vitals(
        heart_rate_bpm=72, systolic_mmhg=122, diastolic_mmhg=78, spo2_percent=98
    )
    assert scenario.noise == Noise()
    assert scenario.dose is None
    assert scenario.devices == (
        DeviceSpec(
            kind=DeviceKind.HEART_RATE,
            name="Strap 1",
            address="C0:00:00:00:00:0A",
            manufacturer="ACME",
            model="EMU-HRM-1",
            serial="S1",
            firmware="2.1",
            period_s=0.5,
        ),
    )
    assert scenario.events == (
        LowBattery(start_s=60, device=DeviceKind.HEART_RATE, battery_percent=8),
        Tachycardia(start_s=120, duration_s=60),
        SensorOff(start_s=180, duration_s=60, device=DeviceKind.HEART_RATE, drop_link_after_s=22),
        WalkAway(start_s=240, duration_s=60, devices=frozenset({DeviceKind.HEART_RATE})),
    )


def test_start_times_with_an_offset_are_read_as_utc(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[session]\npatient = "p"\nstart = 2025-01-06T10:00:00+01:00\n')

    assert load_scenario(path).start == datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, r"<scenario>\.session\.patient: expected a non-empty string"),
        ({"session": {"patient": "p"}, "sesion": {}}, r"<scenario>: unknown key\(s\) \['sesion'\]"),
        ({"session": {"patient": "p", "seed": -1}}, r"session\.seed: out of range"),
        ({"session": {"patient": "p", "seed": True}}, r"session\.seed: expected an integer"),
        ({"session": {"patient": "p", "duration_min": "long"}}, r"duration_min: expected a number"),
        ({"session": {"patient": "p", "start": "9am"}}, r"session\.start: expected an offset"),
        ({"session": {"patient": "p"}, "baseline": {"spo2_percent": 20}}, r"spo2_percent: must be"),
        ({"session": {"patient": "p"}, "noise": []}, r"<scenario>\.noise: expected a table"),
        ({"session": {"patient": "p"}, "dose": {}}, r"dose\.at_min: required"),
        ({"session": {"patient": "p"}, "devices": {"ecg": {}}}, r"unknown key\(s\) \['ecg'\]"),
        (
            {"session": {"patient": "p"}, "devices": {"heart_rate": {"address": "nope"}}},
            r"devices\.heart_rate\.address: not a Bluetooth address",
        ),
        (
            {"session": {"patient": "p"}, "devices": {"heart_rate": {"battery_percent": 101}}},
            r"battery_percent: out of range",
        ),
        ({"session": {"patient": "p"}, "events": {"kind": "motion"}}, r"events: expected an array"),
        (
            {"session": {"patient": "p"}, "events": [{"kind": "seizure"}]},
            r"events\[0\]\.kind: unknown event 'seizure'",
        ),
        (
            {"session": {"patient": "p"}, "events": [{"kind": "motion", "at_min": 1}]},
            r"events\[0\]\.duration_min: required",
        ),
        (
            {
                "session": {"patient": "p"},
                "events": [{"kind": "motion", "at_min": 1, "duration_min": 1, "device": "x"}],
            },
            r"events\[0\]: unknown key\(s\) \['device'\]",
        ),
        (
            {
                "session": {"patient": "p"},
                "events": [{"kind": "sensor_off", "device": "ecg", "at_min": 1, "duration_min": 1}],
            },
            r"events\[0\]\.device: expected one of",
        ),
        (
            {
                "session": {"patient": "p"},
                "events": [{"kind": "walk_away", "at_min": 1, "duration_min": 1, "devices": "all"}],
            },
            r"events\[0\]\.devices: expected a list",
        ),
        (
            {
                "session": {"patient": "p"},
                "events": [
                    {"kind": "walk_away", "at_min": 1, "duration_min": 1, "devices": ["phone"]}
                ],
            },
            r"events\[0\]\.devices: expected kinds among",
        ),
    ],
)
def test_mistakes_name_the_key(document: dict[str, object], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(document)


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[session\n")

    with pytest.raises(ScenarioError, match=r"broken\.toml"):
        load_scenario(broken)
    with pytest.raises(ScenarioError, match=r"missing\.toml"):
        load_scenario(tmp_path / "missing.toml")
