"""`vigil session`: time and override parsing, and start/list/end against a real broker."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vigil.errors import ConfigError
from vigil.services.endpoints import MqttEndpoint
from vigil.sessions import parse_overrides, parse_time

NOW = 1_764_480_000.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("+15m", NOW + 900),
        ("-90s", NOW - 90),
        ("+1.5h", NOW + 5400),
        ("2025-11-30T05:20:00Z", 1764480000.0),
        ("2025-11-30T06:20:00+01:00", 1764480000.0),
    ],
)
def test_times(text: str, expected: float) -> None:
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "message"), [("soon", "not a time"), ("2025-11-30T05:20:00", "no time zone")]
)
def test_bad_times_are_config_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_time(text, NOW)


def test_overrides_are_typed() -> None:
    assert parse_overrides(
        [
            "spo2_low.limit=88",
            "spo2_low.delay_s=15",
            "sbp_high.latching=false",
            "hr_high.priority=medium",
        ]
    ) == {
        "spo2_low": {"limit": 88.0, "delay_s": 15.0},
        "sbp_high": {"latching": False},
        "hr_high": {"priority": "medium"},
    }


@pytest.mark.parametrize("item", ["threshold=88", "spo2_low.limit", ".x=1", "a.=1"])
def test_malformed_overrides_are_config_errors(item: str) -> None:
    with pytest.raises(ConfigError, match=r"must look like rule\.param=value"):
        parse_overrides([item])


def _vigil(mosquitto: MqttEndpoint, root: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "vigil.cli",
            "session",
            "--mqtt",
            mosquitto.url,
            "--root",
            root,
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


@pytest.mark.integration
def test_start_list_end_round_trip(mosquitto: MqttEndpoint, mqtt_root: str) -> None:
    started = _vigil(
        mosquitto,
        mqtt_root,
        "start",
        "S-0001",
        "--patient",
        "P-77",
        "--device",
        "hr-01",
        "--clinician",
        "dr-a",
        "--dose-time",
        "+10m",
        "--override",
        "spo2_low.limit=88",
    )
    assert started.returncode == 0, started.stderr
    listed = [json.loads(line) for line in _vigil(mosquitto, mqtt_root, "list").stdout.splitlines()]
    assert [
        (d["session"], d["patient"], d["devices"], d["clinicians"], d["overrides"]) for d in listed
    ] == [("S-0001", "P-77", ["hr-01"], ["dr-a"], {"spo2_low": {"limit": 88.0}})]
    assert listed[0]["dose_time"] == pytest.approx(listed[0]["started"] + 600)
    assert _vigil(mosquitto, mqtt_root, "end", "S-0001").returncode == 0
    ended = json.loads(_vigil(mosquitto, mqtt_root, "list").stdout)
    assert ended["ended"] >= ended["started"]


@pytest.mark.integration
def test_a_session_with_a_name_for_a_pseudonym_is_refused(
    mosquitto: MqttEndpoint, mqtt_root: str
) -> None:
    done = _vigil(mosquitto, mqtt_root, "start", "S-0002", "--patient", "Jane Doe")
    assert done.returncode == 2
    assert "invalid session" in done.stderr
    assert _vigil(mosquitto, mqtt_root, "end", "S-0002").returncode == 1
