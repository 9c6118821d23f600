"""Resuming delays after a processor restart: a condition waiting out its delay raises when it
would have without the restart, not one delay later."""

import pytest
from alerts_testkit import T0, ketamine, reading, timeline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_restore import as_restored

from alerts.engine import AlarmEngine, Reading, ReadingBatch
from alerts.profiles import apply_overrides

# Rate windows are not carried over a restart (docs/alarms.md): leave the rate rule out.
PROFILE = apply_overrides(ketamine(), {"rules": {"spo2_falling": {"enabled": False}}})


def spo2(t: float, value: float, **kwargs: object) -> Reading:
    return reading(T0 + t, {"spo2": value}, device="oxi", seq=int(t), **kwargs)  # type: ignore[arg-type]


def published_pending(engine: AlarmEngine, retained: dict[str, dict[str, float]]) -> None:
    """What a processor publishes (retained) after each decision: the latest map wins."""
    retained.update(engine.pending_changes())


def restarted(before: AlarmEngine, retained: dict[str, dict[str, float]]) -> AlarmEngine:
    after = AlarmEngine(PROFILE)
    after.open_session("S1", started_t=T0)
    for alarm in before.open_alarms("S1"):
        assert after.restore(as_restored("S1", alarm)), alarm
    after.restore_pending("S1", retained.get("S1", {}))
    return after


def test_a_delay_running_at_the_restart_raises_on_time():
    before, retained = AlarmEngine(PROFILE), {}
    for t in range(10):
        assert before.on_reading(spo2(t, 89)) == ()
        published_pending(before, retained)
    assert retained == {"S1": {"spo2_low": T0}}
    after = restarted(before, retained)
    assert after.pending("S1") == {"spo2_low": T0}
    events = [e for t in range(10, 20) for e in after.on_reading(spo2(t, 89))]
    assert timeline(events) == [("raised", "spo2_low", T0 + 15)]
    assert events[0].onset_t == T0


def test_pending_changes_report_each_start_reset_and_raise_once():
    engine, seen = AlarmEngine(PROFILE), []
    for t, value in [(0, 89), (1, 89), (2, 95), (3, 87), (18, 87), (19, 87)]:
        engine.on_reading(spo2(t, value))
        seen.append(engine.pending_changes())
    assert seen == [
        (("S1", {"spo2_low": T0}),),
        (),
        (("S1", {}),),
        (("S1", {"spo2_low": T0 + 3, "spo2_critical": T0 + 3}),),
        (("S1", {}),),  # both raised: their retained alarm states take over
        (),
    ]


def test_an_artifact_gate_waiting_out_its_delay_is_resumed():
    before, retained = AlarmEngine(PROFILE), {}
    for t in range(5):
        before.on_reading(spo2(t, 97, contact=False))
        published_pending(before, retained)
    assert retained["S1"] == {"sensor_off:oxi": T0}
    after = restarted(before, retained)
    events = [e for t in range(5, 12) for e in after.on_reading(spo2(t, 97, contact=False))]
    assert timeline(events) == [("raised", "sensor_off@oxi", T0 + 10)]


@pytest.mark.parametrize(
    "pending",
    [
        {"no_such_rule": T0},
        {"no_such_gate:oxi": T0},
        {"spo2_low": float("nan")},
        {"device_disconnected:oxi": T0},  # a reported state: its own status restores it
    ],
)
def test_keys_that_are_not_idle_conditions_are_skipped(pending):
    engine = AlarmEngine(PROFILE)
    engine.open_session("S1", started_t=T0)
    assert engine.restore_pending("S1", pending) == []
    assert engine.pending("S1") == {}


def test_an_active_condition_is_not_made_pending():
    before, retained = AlarmEngine(PROFILE), {}
    for t in range(16):
        before.on_reading(spo2(t, 89))
        published_pending(before, retained)
    after = restarted(before, {"S1": {"spo2_low": T0 + 3}})  # stale: the alarm is open now
    assert after.pending("S1") == {}
    # The stale entry is published away, or the next restart would resume it again.
    assert after.pending_changes() == (("S1", {}),)
    assert [e for t in range(16, 30) for e in after.on_reading(spo2(t, 89))] == []


def test_the_batch_path_sees_resumed_delays():
    before, retained = AlarmEngine(PROFILE), {}
    for t in range(10):
        before.on_reading(spo2(t, 89))
        published_pending(before, retained)
    after = restarted(before, retained)
    after_batch = AlarmEngine(PROFILE, vector_min_rows=0)
    after_batch.open_session("S1", started_t=T0)
    after_batch.restore_pending("S1", retained["S1"])
    events = after_batch.on_batch(ReadingBatch.from_readings([spo2(t, 89) for t in range(10, 20)]))
    assert timeline(events) == [("raised", "spo2_low", T0 + 15)]
    assert [e for t in range(10, 20) for e in after.on_reading(spo2(t, 89))] == list(events)


SPO2 = st.sampled_from([86.0, 87.0, 89.0, 91.0, 93.0, 97.0])
HR = st.sampled_from([45.0, 80.0, 126.0, 131.0, 140.0])
CONTACT = st.sampled_from([None, None, None, False])
# Runs of equal inputs: delays are 10-15 s, so most conditions need a run to raise.
RUN = st.tuples(SPO2, HR, CONTACT, st.booleans(), st.integers(1, 20))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs=st.lists(RUN, min_size=1, max_size=8), data=st.data())
def test_a_restart_anywhere_gives_the_uninterrupted_timeline(runs, data):
    steps = [step[:4] for step in runs for _ in range(step[4])]
    if len(steps) < 2:
        return
    restart_at = data.draw(st.integers(1, len(steps) - 1))

    def inputs(i: int) -> list[Reading]:
        value, hr, contact, moving = steps[i]
        flags = ["body_movement"] if moving else []
        return [
            spo2(i, value, contact=contact, flags=flags),
            reading(T0 + i, {"hr": hr}, device="strap", seq=i),
        ]

    straight = AlarmEngine(PROFILE)
    expected = [[e for r in inputs(i) for e in straight.on_reading(r)] for i in range(len(steps))]

    before, retained = AlarmEngine(PROFILE), {}
    vectorised, retained_too = AlarmEngine(PROFILE, vector_min_rows=0), {}
    for i in range(restart_at):
        for r in inputs(i):
            before.on_reading(r)
        published_pending(before, retained)
        vectorised.on_batch(ReadingBatch.from_readings(inputs(i)))
        published_pending(vectorised, retained_too)
        assert retained_too == retained  # the batch path reports the same delays
    after = restarted(before, retained)
    resumed = [
        [e for r in inputs(i) for e in after.on_reading(r)] for i in range(restart_at, len(steps))
    ]
    assert resumed == expected[restart_at:]
