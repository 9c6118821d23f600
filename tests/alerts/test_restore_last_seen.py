"""Last-seen times read back after a processor restart: a metric that fell silent before the
restart is called stale when it would have been without it, not `after_s` after the restart;
a metric whose readings of the outage are still on their way is not called stale at once."""

from alerts_testkit import T0, ketamine, reading, timeline

from alerts.engine import AlarmEngine
from alerts.profiles import Metric

RESTART = T0 + 3600  # an hour into the session
GRACE = 30.0


def reopened(started: float = T0) -> AlarmEngine:
    """The session as a restarted processor opens it: watched from the restart."""
    engine = AlarmEngine(ketamine())
    engine.open_session("S1", started_t=max(started, RESTART))
    return engine


def stale_raises(engine: AlarmEngine, until: float) -> list[tuple[str, str, float]]:
    """Tick every second up to `until`: the stale alarms raised, at the tick that raised them."""
    return [
        event
        for tick in range(int(RESTART), int(until) + 1)
        for event in timeline(engine.advance(float(tick)))
        if event[0] == "raised" and event[1].startswith("stale")
    ]


def test_the_watched_metrics_and_their_windows():
    assert reopened().watched("S1") == {Metric.SPO2: 30, Metric.PR: 30, Metric.SBP: 1200}


def test_a_cuff_that_fell_silent_before_the_restart_is_stale_on_time():
    engine = reopened()
    last_cuff = RESTART - 1000  # its next cycle never came
    seen = {Metric.SBP: last_cuff, Metric.SPO2: RESTART - 1, Metric.PR: RESTART - 1}
    engine.restore_last_seen("S1", seen, started_t=T0, not_before=RESTART + GRACE)
    for t in range(int(RESTART), int(RESTART) + 300):  # the oximeter goes on streaming
        engine.on_reading(reading(float(t), {"spo2": 97, "pr": 70}, device="oxi", seq=t))
    assert stale_raises(engine, RESTART + 300) == [("raised", "stale_sbp", last_cuff + 1200)]


def test_without_it_the_deadman_counts_from_the_restart():
    engine = reopened()
    assert stale_raises(engine, RESTART + 1300) == [
        ("raised", "stale_spo2", RESTART + 30),
        ("raised", "stale_pr", RESTART + 30),
        ("raised", "stale_sbp", RESTART + 1200),
    ]


def test_readings_still_on_their_way_get_the_grace():
    # The oximeter streamed through a 5-minute outage; storage has it up to the crash only.
    engine = reopened()
    seen = {Metric.SPO2: RESTART - 300, Metric.PR: RESTART - 300, Metric.SBP: RESTART - 60}
    engine.restore_last_seen("S1", seen, started_t=T0, not_before=RESTART + GRACE)
    assert stale_raises(engine, RESTART + GRACE - 1) == []  # the broker's backlog arrives now
    for t in range(int(RESTART - 300), int(RESTART) + 60):
        engine.on_reading(reading(float(t), {"spo2": 97, "pr": 70}, device="oxi", seq=t))
    assert stale_raises(engine, RESTART + 60) == []


def test_a_metric_never_seen_counts_from_the_session_start_not_the_lookback():
    started = RESTART - 300  # five minutes old; the cuff's first cycle is still to come
    engine = reopened(started)
    engine.restore_last_seen("S1", {}, started_t=started, not_before=RESTART + GRACE)
    assert stale_raises(engine, started + 1200) == [
        ("raised", "stale_spo2", RESTART + GRACE),  # overdue: no oximeter reading yet
        ("raised", "stale_pr", RESTART + GRACE),
        ("raised", "stale_sbp", started + 1200),
    ]


def test_a_non_finite_time_counts_as_not_seen():
    engine = reopened()
    seen = {Metric.SBP: float("nan"), Metric.SPO2: float("inf"), Metric.PR: RESTART}
    engine.restore_last_seen("S1", seen, started_t=T0, not_before=RESTART + GRACE)
    assert stale_raises(engine, RESTART + GRACE) == [
        ("raised", "stale_spo2", RESTART + GRACE),
        ("raised", "stale_pr", RESTART + GRACE),
        ("raised", "stale_sbp", RESTART + GRACE),
    ]
