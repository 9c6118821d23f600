"""Engine facade, batch input, conditions, baseline, rate windows, NEWS2, benchmark."""

import math
import re
from pathlib import Path

import numpy as np
import pytest
from alerts_testkit import T0, ketamine, peer_profile, reading

from alerts.engine import (
    FLAG_BITS,
    AlarmEngine,
    BatchBuilder,
    DoseAdministered,
    EventKind,
    News2Risk,
    Reading,
    ReadingBatch,
    flag_bits,
    measure_throughput,
    news2_score,
)
from alerts.engine.baseline import BaselineCollector, gate_breaches
from alerts.engine.conditions import Condition, ConditionState, TimedState, Transition
from alerts.engine.rate import RateWindow
from alerts.engine.session import quiet_bound
from alerts.errors import SessionError
from alerts.profiles import METRIC_CODES, BaselineSettings, Comparison, Metric, apply_overrides

# ---------------------------------------------------------------- conditions


def test_inclusive_limits_are_exact():
    above = Condition.compile(Comparison.AT_OR_ABOVE, 131, 125, 0)
    assert above.violates(131)
    assert not above.violates(math.nextafter(131, 0))
    below = Condition.compile(Comparison.AT_OR_BELOW, 40, 45, 0)
    assert below.violates(40)
    assert not below.violates(math.nextafter(40, 100))
    strict = Condition.compile(Comparison.ABOVE, 120, 115, 0)
    assert not strict.violates(120)
    assert strict.violates(120.5)


def test_condition_state_persistence_reset_and_clear():
    condition = Condition.compile(Comparison.ABOVE, 120, 115, 10)
    state = ConditionState()
    steps = [(130, 0), (130, 9), (100, 10), (130, 11), (130, 21), (118, 22), (115, 23)]
    got = [state.judge(condition, v, t) for v, t in steps]
    assert got == [0, 0, 0, 0, Transition.RAISED, 0, Transition.CLEARED]
    assert state.idle


def test_distrust_resets_pending_but_keeps_active():
    condition = Condition.compile(Comparison.BELOW, 90, 92, 5)
    state = ConditionState()
    state.judge(condition, 80, 0)
    state.distrust()
    assert state.idle
    state.judge(condition, 80, 1)
    assert state.judge(condition, 80, 6) is Transition.RAISED
    state.distrust()
    assert state.active


def test_timed_state():
    state = TimedState()
    assert not state.due(10, 0)
    state.start(0)
    state.start(5)  # still the same episode
    assert not state.due(9, 10)
    assert state.due(10, 10)
    assert not state.due(11, 10)  # once
    assert state.stop()
    assert not state.stop()


# ---------------------------------------------------------------- baseline and rate


def test_baseline_is_the_median_of_the_window_before_the_dose():
    collector = BaselineCollector(BaselineSettings(window_s=100, min_readings=2), [Metric.SBP])
    for t, v in [(0, 200), (10, 120), (50, 130), (60, 150), (110, 300)]:
        collector.add(Metric.SBP, t, v)
    # window [10, 110): 120, 130, 150 -> 130; the reading at the dose time is not pre-dose.
    assert collector.fix(110) == {Metric.SBP: 130}


def test_too_few_readings_give_no_baseline_and_no_rise_alarm():
    profile = apply_overrides(ketamine(), {"baseline": {"min_readings": 2}})
    e = AlarmEngine(profile)
    e.on_reading(reading(T0, {"sbp": 100}, device="cuff"))
    e.on_dose(DoseAdministered(session_id="S1", t=T0 + 10))
    assert e.baseline("S1", Metric.SBP) is None
    events = e.on_reading(reading(T0 + 20, {"sbp": 150}, device="cuff"))
    assert [x.rule_id for x in events] == []


def test_rise_rules_ignore_readings_from_before_the_dose_and_a_second_dose_mark():
    e = AlarmEngine(ketamine())
    e.on_reading(reading(T0, {"sbp": 120}, device="cuff"))
    e.on_dose(DoseAdministered(session_id="S1", t=T0 + 100))
    assert e.on_dose(DoseAdministered(session_id="S1", t=T0 + 200)) == ()
    assert e.on_reading(reading(T0 + 50, {"sbp": 165}, device="cuff"))[0].rule_id == "sbp_elevated"
    events = e.on_reading(reading(T0 + 150, {"sbp": 161}, device="cuff"))
    assert [x.rule_id for x in events] == ["sbp_rise"]
    assert events[0].threshold == 160


def test_gate_breaches():
    assert gate_breaches({Metric.SBP: 150, Metric.DBP: 80}, {Metric.SBP: 140, Metric.HR: 100}) == [
        (Metric.SBP, 150, 140)
    ]


def test_rate_window_falling_and_rising():
    falling = RateWindow(10, falling=True)
    assert [falling.push(t, v) for t, v in [(0, 97), (5, 95), (10, 96), (11, 90)]] == [
        97,
        97,
        97,
        96,
    ]
    rising = RateWindow(10, falling=False)
    assert [rising.push(t, v) for t, v in [(0, 80), (5, 82), (10, 79), (21, 90)]] == [
        80,
        80,
        79,
        90,
    ]


def test_rising_rate_rule():
    profile = apply_overrides(
        ketamine(),
        {"rules": {"spo2_falling": {"direction": "rising", "limit": 3, "reset": 1}}},
    )
    e = AlarmEngine(profile)
    e.on_reading(reading(T0, {"spo2": 92}))
    (event,) = e.on_reading(reading(T0 + 5, {"spo2": 96}))
    assert (event.rule_id, event.value, event.threshold) == ("spo2_falling", 96, 95)


# ---------------------------------------------------------------- engine facade


def test_open_and_close_sessions():
    e = AlarmEngine(peer_profile(0), capacity=1)
    e.open_session("A", started_t=T0)
    with pytest.raises(SessionError, match="already open"):
        e.open_session("A", started_t=T0)
    e.open_session("B", started_t=T0, profile=ketamine())  # grows the table
    assert e.table.capacity == 2
    e.close_session("A")
    assert not e.is_open("A")
    with pytest.raises(SessionError, match="not open"):
        e.close_session("A")
    with pytest.raises(SessionError, match="not open"):
        e.news2("A")
    e.open_session("C", started_t=T0)
    assert e.session_at(0).session_id == "C"  # the freed slot is reused


def test_closed_session_forgets_its_alarms():
    e = AlarmEngine(peer_profile(0))
    (raised,) = e.on_reading(reading(T0, {"hr": 130}))
    e.close_session("S1")
    (again,) = e.on_reading(reading(T0 + 1, {"hr": 130}))
    assert again.kind is EventKind.RAISED
    assert again.alarm_id != raised.alarm_id  # a new onset: a new episode id


def test_invalid_values_and_unknown_metrics_are_skipped_and_counted():
    e = AlarmEngine(peer_profile(0))
    assert e.on_reading(reading(math.nan, {"hr": 130})) == ()
    assert e.on_reading(reading(T0, {"hr": math.inf})) == ()
    assert e.invalid_rows == 2
    unknown_metric = Reading(session_id="S2", device_id="d", seq=0, t=T0, values={"ecg": 1.0})
    assert e.on_reading(unknown_metric) == ()
    assert not e.is_open("S2")


def test_news2_from_latest_artifact_free_values():
    e = AlarmEngine(ketamine())
    e.on_reading(reading(T0, {"spo2": 93, "pr": 115}, device="oxi"))
    e.on_reading(reading(T0 + 1, {"spo2": 80, "pr": 40}, device="oxi", flags=["body_movement"]))
    e.on_reading(reading(T0 + 2, {"sbp": 105, "dbp": 70}, device="cuff"))
    score = e.news2("S1")
    assert dict(score.components) == {"spo2": 2, "systolic_bp": 1, "pulse": 2}
    assert score.total == 5
    assert score.risk is News2Risk.MEDIUM
    assert score.missing == (
        "respiration_rate",
        "supplemental_oxygen",
        "consciousness",
        "temperature",
    )
    assert score.partial
    e.on_reading(reading(T0 + 3, {"hr": 60}, device="strap"))
    assert e.news2("S1").components["pulse"] == 0  # heart rate preferred over pulse rate


@pytest.mark.parametrize(
    ("parameters", "total", "risk"),
    [
        ({}, 0, News2Risk.LOW),
        ({"pulse": 40, "spo2": 96, "systolic_bp": 111}, 3, News2Risk.LOW_MEDIUM),
        ({"pulse": 41, "spo2": 95, "systolic_bp": 110}, 3, News2Risk.LOW),
        ({"pulse": 131, "spo2": 91, "systolic_bp": 220}, 9, News2Risk.HIGH),
        ({"pulse": 90, "spo2": 96, "systolic_bp": 219, "respiration_rate": 21}, 2, News2Risk.LOW),
        ({"respiration_rate": 8, "pulse": 111}, 5, News2Risk.MEDIUM),
    ],
)
def test_news2_table(parameters, total, risk):
    score = news2_score(parameters)
    assert (score.total, score.risk) == (total, risk)


# ---------------------------------------------------------------- batch input


def test_flag_bits():
    assert flag_bits(None, frozenset()) == 0
    assert flag_bits(False, frozenset({"body_movement", "x"})) == (
        FLAG_BITS["no_contact"] | FLAG_BITS["body_movement"]
    )


def test_batch_columns_must_align():
    batch = ReadingBatch.from_readings([reading(T0, {"hr": 80})])
    assert len(batch) == 1
    with pytest.raises(ValueError, match="equal length"):
        ReadingBatch(
            sessions=("S1",),
            devices=("d",),
            session_index=np.zeros(2, dtype=np.intp),
            device_index=np.zeros(1, dtype=np.intp),
            metric_code=np.zeros(1, dtype=np.intp),
            value=np.zeros(1),
            t=np.zeros(1),
            seq=np.zeros(1, dtype=np.int64),
            flags=np.zeros(1, dtype=np.int64),
            historical=np.zeros(1, dtype=bool),
        )


def test_batch_builder_and_empty_or_invalid_batches():
    e = AlarmEngine(peer_profile(0))
    assert e.on_batch(BatchBuilder().build()) == ()
    builder = BatchBuilder()
    builder.add(session_id="S1", device_id="d", metric=Metric.HR, value=math.nan, t=T0, seq=1)
    builder.add(
        session_id="S1", device_id="d", metric=Metric.HR, value=130, t=T0, seq=2, historical=True
    )
    assert e.on_batch(builder.build()) == ()
    assert e.invalid_rows == 1
    assert not e.is_open("S1")
    builder.add(session_id="S1", device_id="d", metric=Metric.HR, value=130, t=T0 + 1, seq=3)
    (event,) = e.on_batch(builder.build())
    assert (event.kind, event.reading.seq) == (EventKind.RAISED, 3)


# ---------------------------------------------------------------- benchmark


def test_benchmark_paths_agree_on_the_event_count():
    scalar = measure_throughput(path="scalar", sessions=20, per_session=200)
    batch = measure_throughput(path="batch", sessions=20, per_session=200, batch_size=333)
    assert scalar.readings == batch.readings == 4000
    assert scalar.events == batch.events > 0
    assert batch.readings_per_s > 0
    assert batch.readings_per_cpu_s > 0
    custom = measure_throughput(path="batch", sessions=5, per_session=40, profile=ketamine())
    assert custom.readings == 200


def test_disabled_rules_do_not_fire():
    profile = apply_overrides(peer_profile(0), {"rules": {"hr_high": {"enabled": False}}})
    assert AlarmEngine(profile).on_reading(reading(T0, {"hr": 200})) == ()


def test_batch_from_readings_skips_unknown_metrics():
    odd = Reading(session_id="S1", device_id="d", seq=0, t=T0, values={"ecg": 1.0, "hr": 80.0})
    assert ReadingBatch.from_readings([odd]).metric_code.tolist() == [0]


@pytest.mark.parametrize("baseline", [0.1, 0.3, 131.0, 1e-9, 123.456789, 1e15])
@pytest.mark.parametrize("trip", [0.2, 40.0, math.nextafter(40.0, 0), -25.0, 1e-12])
def test_quiet_bound_never_admits_a_violating_value(baseline, trip):
    high = quiet_bound(baseline, trip, upward=True)
    assert high - baseline <= trip
    assert math.nextafter(high, math.inf) - baseline > trip or high == baseline + trip
    low = quiet_bound(baseline, trip, upward=False)
    assert low - baseline >= trip


def test_quiet_bound_steps_back_when_the_sum_rounds_past_the_limit():
    # 0.1 + 0.2 rounds to 0.30000000000000004, whose difference with 0.1 exceeds 0.2.
    assert 0.1 + 0.2 - 0.1 > 0.2
    assert quiet_bound(0.1, 0.2, upward=True) < 0.1 + 0.2
    assert 168.0 - 9.3 - 168.0 < -9.3
    assert quiet_bound(168.0, -9.3, upward=False) > 168.0 - 9.3


def test_a_downward_rise_rule_narrows_the_quiet_bounds_and_fires_on_both_paths():
    drop = {
        "kind": "rise",
        "metric": "sbp",
        "comparison": "below",
        "limit": -30,
        "reset": -20,
        "delay_s": 0,
        "priority": "high",
        "latching": False,
    }
    profile = apply_overrides(
        ketamine(), {"rules": {"sbp_drop": drop}, "technical": {"stale": {"metrics": []}}}
    )
    script = [
        reading(T0, {"sbp": 120}, device="cuff"),
        reading(T0 + 60, {"sbp": 124}, device="cuff"),
    ]
    after = [
        reading(T0 + 120 + 60 * i, {"sbp": v}, device="cuff", seq=i)
        for i, v in enumerate([110, 95, 91, 100, 103, 120])
    ]
    results = []
    for batched in (False, True):
        e = AlarmEngine(profile, vector_min_rows=0)
        for r in script:
            e.on_reading(r)
        e.on_dose(DoseAdministered(session_id="S1", t=T0 + 100))
        slot = e.session_at(0).slot
        sbp = METRIC_CODES[Metric.SBP]
        assert e.table.quiet_low[slot, sbp] == max(
            quiet_bound(122, -30, upward=False), math.nextafter(90, math.inf)
        )
        if batched:
            events = e.on_batch(ReadingBatch.from_readings(after))
        else:
            events = [x for r in after for x in e.on_reading(r)]
        results.append([(x.kind, x.rule_id, x.t) for x in events])
    assert (
        results[0]
        == results[1]
        == [
            (EventKind.RAISED, "sbp_drop", T0 + 240),  # 91 - 122 = -31 < -30
            (EventKind.RESOLVED, "sbp_drop", T0 + 360),  # 103 - 122 = -19 >= -20
        ]
    )


def test_the_engine_core_does_no_io_and_reads_no_clock():
    """House style: pure core. Only the micro-benchmark reads a clock (when called)."""
    engine_dir = Path(__file__).parents[2] / "alerts" / "engine"
    forbidden = re.compile(
        r"^\s*(import|from)\s+(asyncio|aiomqtt|paho|websockets|influxdb_client|bleak|socket|time"
        r"|datetime|logging)\b",
        flags=re.MULTILINE,
    )
    offenders = {
        path.name
        for path in engine_dir.glob("*.py")
        if path.name != "benchmark.py" and forbidden.search(path.read_text(encoding="utf-8"))
    }
    assert offenders == set()
