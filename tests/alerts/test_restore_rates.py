"""Rate windows refilled after a processor restart from the readings read back from storage: a
fall that straddles the restart is judged as without it."""

from alerts_testkit import T0, ketamine, reading, timeline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_restore import as_restored
from test_restore_pending import published_pending

from alerts.engine import AlarmEngine, Reading, flag_bits
from alerts.profiles import Metric

# ketamine-home's spo2_falling: a fall of >= 4 points within 60 s, low priority, no delay.
PROFILE = ketamine()


def spo2(t: float, value: float, **kwargs: object) -> Reading:
    return reading(T0 + t, {"spo2": value}, device="oxi", seq=int(t), **kwargs)  # type: ignore[arg-type]


def stored_rows(readings: list[Reading]) -> list[tuple[Metric, float, float, int]]:
    return [
        (metric, r.t, value, flag_bits(r.contact, r.flags))
        for r in readings
        for metric, value in r.values.items()
    ]


def restarted(
    before: AlarmEngine, retained: dict[str, dict[str, float]], stored: list[Reading]
) -> AlarmEngine:
    after = AlarmEngine(PROFILE)
    after.open_session("S1", started_t=T0)
    for alarm in before.open_alarms("S1"):
        assert after.restore(as_restored("S1", alarm)), alarm
    after.restore_pending("S1", retained.get("S1", {}))
    after.restore_rates("S1", stored_rows(stored))
    return after


def falls(events: list) -> list[tuple[str, str, float]]:  # type: ignore[type-arg]
    return [x for x in timeline(events) if x[1] == "spo2_falling"]


def test_the_rate_windows_of_a_session():
    assert quiet().rate_windows("S1") == {Metric.SPO2: 60}


def quiet() -> AlarmEngine:
    """An engine whose session had no alarm before the restart."""
    engine = AlarmEngine(PROFILE)
    engine.open_session("S1", started_t=T0)
    return engine


def test_a_fall_that_straddles_the_restart_is_seen():
    before = [spo2(t, 98) for t in range(30)]
    engine = restarted(quiet(), {}, before)
    events = [e for t in range(30, 40) for e in engine.on_reading(spo2(t, 93))]
    assert falls(events) == [("raised", "spo2_falling", T0 + 30)]

    forgetful = restarted(quiet(), {}, [])
    assert falls([e for t in range(30, 40) for e in forgetful.on_reading(spo2(t, 93))]) == []


def test_gated_and_non_finite_rows_do_not_enter_the_windows():
    engine = quiet()
    rows = [
        *stored_rows([spo2(0, 99, contact=False)]),  # sensor off: gated
        *stored_rows([spo2(1, 99, flags=["body_movement"])]),  # motion: gated
        (Metric.SPO2, T0 + 2, float("nan"), 0),
        (Metric.HR, T0 + 2, 80.0, 0),  # no rate rule on hr
        (Metric.SPO2, T0 + 3, 96.0, 0),
    ]
    assert engine.restore_rates("S1", rows) == 1
    assert falls(engine.on_reading(spo2(4, 93))) == []  # 96 -> 93: 3 points, not 4


STEP = st.tuples(st.sampled_from([99.0, 97.0, 95.0, 93.0, 91.0]), st.sampled_from([None, False]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEP, min_size=2, max_size=90), data=st.data())
def test_a_restart_anywhere_gives_the_uninterrupted_timeline(steps, data):
    restart_at = data.draw(st.integers(1, len(steps) - 1))
    readings = [spo2(i, value, contact=contact) for i, (value, contact) in enumerate(steps)]

    straight = AlarmEngine(PROFILE)
    expected = [straight.on_reading(r) for r in readings]

    before, retained = AlarmEngine(PROFILE), {}
    for r in readings[:restart_at]:
        before.on_reading(r)
        published_pending(before, retained)
    after = restarted(before, retained, readings[:restart_at])
    resumed = [after.on_reading(r) for r in readings[restart_at:]]
    assert resumed == expected[restart_at:]
