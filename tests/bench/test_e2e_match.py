"""The end-to-end benchmark's pure parts: scenarios, expected alarms, pairing, percentiles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.e2e_clients import raised_alarms
from bench.e2e_match import (
    AlarmSeen,
    Notification,
    ReadingSeen,
    alarm_latencies,
    crossing_starts,
    expected_alarms,
    expected_raises,
    figures,
    pair,
    percentile,
    reading_latencies,
    scenario_toml,
    slow_seconds,
)
from devices.emulation.scenario import SessionModel, Tachycardia
from devices.emulation.scenario_file import load_scenario


def test_percentile_is_nearest_rank() -> None:
    xs = [float(x) for x in range(1, 101)]
    assert [percentile(xs, p) for p in (1, 50, 99, 100)] == [1.0, 50.0, 99.0, 100.0]
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([], 50) is None


def test_figures_in_ms() -> None:
    assert figures([0.001, 0.002, 0.010]) == {
        "count": 3,
        "p50_ms": 2.0,
        "p99_ms": 10.0,
        "max_ms": 10.0,
    }
    assert figures([]) == {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}


def test_expected_raises_follow_limit_and_reset() -> None:
    # raise above 120; stays active down to 116; resets at 115; a new crossing raises again
    assert expected_raises([72, 121, 130, 118, 116, 125, 115, 121, 120, 72, 130]) == [1, 7, 10]
    assert expected_raises([120, 120.0, 72]) == []


def test_crossings_are_spread_over_the_period() -> None:
    assert crossing_starts(0, first_s=3.0, seconds=30.0) == [3.0, 11.0, 19.0, 27.0]
    assert crossing_starts(3, first_s=3.0, seconds=30.0) == [6.0, 14.0, 22.0]
    assert crossing_starts(11, first_s=3.0, seconds=30.0) == [6.0, 14.0, 22.0]
    assert crossing_starts(0, first_s=3.0, seconds=4.0) == []


def test_scenario_file_loads_and_steps_to_the_crossing(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(scenario_toml("p-e2e-001", "C2:E2:E0:00:00:01", 7, [3.0, 11.0]))
    scenario = load_scenario(path)
    assert [(d.kind.value, d.address) for d in scenario.devices] == [
        ("heart_rate", "C2:E2:E0:00:00:01")
    ]
    assert [
        (round(e.start_s, 9), round(e.duration_s, 9), e.heart_rate_bpm, e.ramp_s)
        for e in scenario.events
        if isinstance(e, Tachycardia)
    ] == [(3.0, 2.5, 130.0, 0.0), (11.0, 2.5, 130.0, 0.0)]
    assert len(scenario.events) == 2
    model = SessionModel(scenario)
    bpm = [round(model.vitals(t).heart_rate_bpm) for t in (2.9, 3.0, 5.4, 5.6, 11.0)]
    assert bpm[1] == bpm[2] == bpm[4] == 130
    assert bpm[0] < 115
    assert bpm[3] < 115


def _notified(device: str, bpms: list[int], t0: float) -> list[Notification]:
    return [Notification(device, t0 + i, b) for i, b in enumerate(bpms)]


def _seen(device: str, bpms: list[float], t0: float, first_seq: int) -> list[ReadingSeen]:
    return [
        ReadingSeen(device, first_seq + i, t0 + i + 0.002, b, t0 + i + 0.005)
        for i, b in enumerate(bpms)
    ]


def test_pairing_zips_each_device_in_seq_order_and_checks_bpm() -> None:
    notified = _notified("hr1", [72, 130, 72], 100.0) + _notified("hr2", [70, 71], 200.0)
    readings = list(reversed(_seen("hr1", [72, 130, 72], 100.0, 5))) + _seen(
        "hr2", [70, 99], 200.0, 1
    )
    seqs = pair(notified, [*readings, readings[0]])  # a duplicate delivery changes nothing
    assert seqs.notify_t == {("hr1", 5): 100.0, ("hr1", 6): 101.0, ("hr1", 7): 102.0,
                             ("hr2", 1): 200.0}  # fmt: skip
    assert (seqs.bpm_mismatches, seqs.unpaired_notifications, seqs.unpaired_readings) == (1, 0, 0)
    assert expected_alarms(seqs) == {("hr1", 6)}
    lat = reading_latencies(seqs)
    assert lat["to_gateway"]["count"] == 4
    assert lat["to_mqtt"]["p99_ms"] == pytest.approx(5.0)


def test_pairing_counts_what_has_no_partner() -> None:
    seqs = pair(_notified("hr1", [72, 72, 72], 0.0), _seen("hr1", [72], 0.0, 1))
    assert (len(seqs.notify_t), seqs.unpaired_notifications, seqs.unpaired_readings) == (1, 2, 0)
    seqs = pair([], _seen("hr9", [72], 0.0, 1))
    assert (len(seqs.notify_t), seqs.unpaired_notifications, seqs.unpaired_readings) == (0, 0, 1)


def test_alarm_latency_per_client_with_missing_unexpected_and_duplicates() -> None:
    seqs = pair(
        _notified("hr1", [72, 130, 72, 130], 100.0), _seen("hr1", [72, 130, 72, 130], 100.0, 1)
    )
    expected = expected_alarms(seqs)
    assert expected == {("hr1", 2), ("hr1", 4)}
    alarms = [
        AlarmSeen("hr1", 2, 101.010, client=0),
        AlarmSeen("hr1", 2, 101.030, client=0),  # duplicate: the first receipt counts
        AlarmSeen("hr1", 2, 101.020, client=1),
        AlarmSeen("hr1", 3, 102.000, client=0),  # not a crossing
    ]
    result = alarm_latencies(alarms, seqs, expected)
    assert result == {
        "count": 2,
        "p50_ms": pytest.approx(10.0),
        "p99_ms": pytest.approx(20.0),
        "max_ms": pytest.approx(20.0),
        "expected": 2,
        "received": 1,
        "missing": 1,
        "unexpected": 1,
        "duplicates": 1,
    }


def test_clients_keep_only_raised_hr_high_alarm_events() -> None:
    event = {"kind": "raised", "rule": "hr_high", "device": "hr1", "seq": 7}
    frames: list[tuple[float, str | bytes]] = [
        (1.0, json.dumps({"type": "alarm_event", "session": "s", "event": event})),
        (2.0, json.dumps({"type": "alarm_event", "event": {**event, "kind": "resolved"}})),
        (3.0, json.dumps({"type": "alarm_event", "event": {**event, "rule": "hr_low"}})),
        (4.0, json.dumps({"type": "vitals", "session": "s", "values": {}})),
    ]
    assert raised_alarms(3, frames) == [[3, "hr1", 7, 1.0]]


def test_slow_seconds_group_late_readings_by_second_of_the_run() -> None:
    notified = _notified("hr1", [72] * 4, 100.0) + _notified("hr2", [72] * 4, 100.5)
    readings = [
        ReadingSeen(n.device, i, n.t_notify + lag, 72, n.t_notify + lag)
        for i, (n, lag) in enumerate(
            zip(notified, [0.001, 0.3, 0.002, 0.2, 0.001, 0.25, 0.001, 0.001], strict=True)
        )
    ]
    assert slow_seconds(pair(notified, readings)) == [
        {"second": 1, "readings": 2, "devices": 2, "max_ms": 300.0},
        {"second": 3, "readings": 1, "devices": 1, "max_ms": 200.0},
    ]
    assert slow_seconds(pair([], [])) == []
