from monitor.evaluation import (
    NO_DECISIONS,
    Decisions,
    StateChange,
    ThresholdEvaluator,
    ThresholdRule,
)
from vigil.wire import AlarmEvent, AlarmState, Reading, ReadingBatch

RULE = ThresholdRule(rule="hr_high", metric="hr", above=True, limit=120, delay_s=10)


def _feed(evaluator: ThresholdEvaluator, seq: int, t: float, hr: float) -> Decisions:
    reading = Reading(seq=seq, t=t, values={"hr": hr})
    batch = ReadingBatch(
        gateway="gw", session="S-1", device="hr-1", kind="hr_strap", readings=[reading]
    )
    return evaluator.on_readings(batch, [reading])


def _raised(seq: int, t: float, onset: float, hr: float) -> Decisions:
    alarm_id = f"hr_high.hr-1.{seq}"
    message = "session S-1: hr > 120: raised"
    return Decisions(
        events=(
            AlarmEvent(
                event_id=f"{alarm_id}.raised.{seq}",
                session="S-1",
                alarm_id=alarm_id,
                kind="raised",
                priority="high",
                rule="hr_high",
                message=message,
                t=t,
                onset=onset,
                metric="hr",
                value=hr,
                threshold=120,
                device="hr-1",
                seq=seq,
                source_t=t,
            ),
        ),
        states=(
            StateChange(
                "S-1",
                alarm_id,
                AlarmState(
                    session="S-1",
                    alarm_id=alarm_id,
                    rule="hr_high",
                    priority="high",
                    state="active",
                    message=message,
                    onset=onset,
                    t=t,
                ),
            ),
        ),
    )


def test_a_condition_raises_once_it_has_held_for_its_delay_in_reading_time() -> None:
    evaluator = ThresholdEvaluator([RULE])
    assert [bool(_feed(evaluator, i, 100.0 + i, 130)) for i in range(10)] == [False] * 10
    assert _feed(evaluator, 10, 110.0, 131) == _raised(10, 110.0, 100.0, 131)
    assert _feed(evaluator, 11, 111.0, 140) == NO_DECISIONS  # no second raise while active


def test_a_normal_reading_resets_the_pending_condition() -> None:
    evaluator = ThresholdEvaluator([RULE])
    _feed(evaluator, 1, 100.0, 130)
    _feed(evaluator, 2, 105.0, 100)
    assert not _feed(evaluator, 3, 111.0, 130)


def test_hysteresis_clears_only_well_inside_the_limit() -> None:
    evaluator = ThresholdEvaluator(
        [ThresholdRule(rule="hr_high", metric="hr", above=True, limit=120)]
    )
    assert _feed(evaluator, 1, 1.0, 121).events[0].kind == "raised"
    assert not _feed(evaluator, 2, 2.0, 116)
    cleared = _feed(evaluator, 3, 3.0, 115)
    assert [e.kind for e in cleared.events] == ["resolved"]
    assert cleared.states == (StateChange("S-1", "hr_high.hr-1.1", None),)


def test_a_restored_active_alarm_is_not_raised_again() -> None:
    evaluator = ThresholdEvaluator(
        [ThresholdRule(rule="hr_high", metric="hr", above=True, limit=120)]
    )
    state = _raised(1, 1.0, 1.0, 130).states[0].state
    assert state is not None
    evaluator.restore([state])
    assert not _feed(evaluator, 2, 2.0, 130)
    assert _feed(evaluator, 3, 3.0, 100).events[0].alarm_id == "hr_high.hr-1.1"


def test_a_low_rule_and_the_other_hooks() -> None:
    evaluator = ThresholdEvaluator()
    reading = Reading(seq=1, t=1.0, values={"spo2": 85.0, "sbp": 190.0})
    batch = ReadingBatch(
        gateway="gw", session="S-1", device="d", kind="bp_cuff", readings=[reading]
    )
    assert sorted(e.rule for e in evaluator.on_readings(batch, [reading]).events) == [
        "sbp_elev",
        "sbp_high",
        "spo2_low",
    ]
    assert evaluator.advance(5.0) == NO_DECISIONS
