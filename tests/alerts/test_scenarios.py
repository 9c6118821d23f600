"""Scripted sessions with the ketamine-home profile and their exact alarm timelines.

Each script runs on the scalar path and on the batch path (several batch sizes); both must
give exactly the timeline written here by hand from the profile's documented defaults.
"""

import pytest
from alerts_testkit import T0, Tick, ketamine, reading, replay, timeline

from alerts.engine import (
    Acknowledge,
    AlarmEngine,
    DoseAdministered,
    EventKind,
    GatewayStatus,
)
from alerts.profiles import apply_overrides

PATHS = [None, 1, 7, 500]


def engine_for(session: str, overrides=None) -> AlarmEngine:
    """The batch runs vectorise every batch, however small (`vector_min_rows=0`)."""
    profile = ketamine() if overrides is None else apply_overrides(ketamine(), overrides)
    engine = AlarmEngine(profile, vector_min_rows=0)
    engine.open_session(session, started_t=T0)
    return engine


# ---------------------------------------------------------------- hypertensive surge

DOSE = T0 + 1200
PRE_DOSE_BP = [(T0, 128, 82), (T0 + 300, 132, 84), (T0 + 600, 130, 80), (T0 + 900, 134, 86)]
POST_DOSE_BP = [  # (seconds after dose, sbp, dbp): peak at 40 minutes, as on the Spravato label
    (300, 150, 95),
    (600, 158, 99),
    (900, 165, 102),
    (1200, 170, 106),
    (1500, 174, 108),
    (1800, 176, 109),
    (2100, 178, 110),
    (2400, 180, 112),
    (2700, 168, 104),
    (3000, 158, 98),
    (3300, 150, 92),
    (3600, 140, 84),
]


def surge_script():
    script = [
        reading(t, {"sbp": s, "dbp": d}, session="surge", device="cuff", seq=i)
        for i, (t, s, d) in enumerate(PRE_DOSE_BP)
    ]
    script.append(DoseAdministered(session_id="surge", t=DOSE))
    script += [
        reading(DOSE + dt, {"sbp": s, "dbp": d}, session="surge", device="cuff", seq=10 + i)
        for i, (dt, s, d) in enumerate(POST_DOSE_BP)
    ]
    return script


@pytest.mark.parametrize("batch_size", PATHS)
def test_hypertensive_surge_peaking_40_minutes_after_dose(batch_size):
    # Baseline = median of the pre-dose cuff readings: sbp 131, dbp 83.
    engine = engine_for("surge", {"technical": {"stale": {"metrics": ["sbp"]}}})
    events = replay(engine, surge_script(), batch_size)
    assert timeline(events) == [
        ("raised", "dbp_elevated", DOSE + 300),  # 95 > 90
        ("raised", "sbp_elevated", DOSE + 900),  # 165 > 160
        ("raised", "sbp_rise", DOSE + 1500),  # 174 - 131 = 43 >= 40
        ("raised", "dbp_rise", DOSE + 1500),  # 108 - 83 = 25 >= 25
        ("resolved", "sbp_rise", DOSE + 3000),  # 158 - 131 = 27 <= reset 30
        ("resolved", "dbp_rise", DOSE + 3000),  # 98 - 83 = 15 <= reset 20
        ("resolved", "sbp_elevated", DOSE + 3300),  # 150 <= 155
        ("resolved", "dbp_elevated", DOSE + 3600),  # 84 <= 85
    ]
    assert engine.baseline("surge", "sbp") == 131
    assert engine.baseline("surge", "dbp") == 83
    rise = events[2]
    assert (rise.value, rise.threshold, rise.onset_t) == (174, 171, DOSE + 1500)
    assert rise.reading is not None
    assert (rise.reading.device_id, rise.reading.seq) == ("cuff", 14)


def test_high_baseline_gives_a_pre_dose_advisory():
    engine = engine_for("gate")
    script = [
        reading(T0 + 60 * i, {"sbp": 150 + i, "dbp": 88, "hr": 104}, session="gate", seq=i)
        for i in range(3)
    ]
    script.append(DoseAdministered(session_id="gate", t=T0 + 600))
    events = replay(engine, script)
    assert [(e.kind, e.rule_id, e.metric, e.value, e.threshold) for e in events] == [
        (EventKind.ADVISORY, "predose_gate", "sbp", 151, 140),
        (EventKind.ADVISORY, "predose_gate", "hr", 104, 100),
    ]
    assert events[0].alarm_id == "gate:predose_gate_sbp:1800000600000"


# ---------------------------------------------------------------- desaturation


def spo2_values(t: int) -> float:
    if t < 60:
        return 97
    if t <= 100:
        return {60: 93, 61: 91, 62: 89}.get(t, 87)
    return 91 if t <= 105 else 93


@pytest.mark.parametrize("batch_size", PATHS)
def test_desaturation_without_artifact(batch_size):
    engine = engine_for("desat")
    script = [
        reading(T0 + t, {"spo2": spo2_values(t), "pr": 80}, session="desat", device="oxi", seq=t)
        for t in range(131)
    ]
    events = replay(engine, script, batch_size)
    alarm_id = next(e.alarm_id for e in events if e.rule_id == "spo2_critical")
    result = engine.on_command(
        Acknowledge(session_id="desat", alarm_id=alarm_id, by="dr-a", t=T0 + 135)
    )
    events += result.events
    assert timeline(events) == [
        ("raised", "spo2_falling", T0 + 60),  # 97 -> 93 within 60 s
        ("raised", "spo2_low", T0 + 77),  # < 90 since 62, + 15 s
        ("raised", "spo2_critical", T0 + 78),  # < 88 since 63, + 15 s
        ("condition_cleared", "spo2_critical", T0 + 101),  # high priority: latched
        ("resolved", "spo2_low", T0 + 106),  # >= 92
        ("resolved", "spo2_falling", T0 + 120),  # the last 97 left the 60 s window
        ("acknowledged", "spo2_critical", T0 + 135),
        ("resolved", "spo2_critical", T0 + 135),
    ]
    assert events[2].priority == "high"
    assert events[2].onset_t == T0 + 63
    assert events[-1].actor == "dr-a"


@pytest.mark.parametrize("batch_size", PATHS)
def test_desaturation_during_motion_is_a_technical_alarm_only(batch_size):
    """The same fall, but every low reading is flagged body_movement, and the values are
    normal once the movement stops: the fall was artifact."""
    engine = engine_for("motion")
    script = []
    for t in range(131):
        moving = 60 <= t <= 100
        value = spo2_values(t) if moving else 96
        script.append(
            reading(
                T0 + t,
                {"spo2": value, "pr": 80},
                session="motion",
                device="oxi",
                seq=t,
                flags=("body_movement",) if moving else (),
            )
        )
    events = replay(engine, script, batch_size)
    assert timeline(events) == [
        ("raised", "motion@oxi", T0 + 70),  # flagged since 60, gate delay 10 s
        ("resolved", "motion@oxi", T0 + 101),  # first clean reading
    ]
    assert {e.category for e in events} == {"technical"}


# ---------------------------------------------------------------- tachycardia


@pytest.mark.parametrize("batch_size", PATHS)
def test_tachycardia_that_resolves_before_the_delay_raises_nothing(batch_size):
    engine = engine_for("tachy")
    values = {t: 135 if 10 <= t <= 23 else 100 for t in range(60)}  # 14 samples: 13 s < 15 s
    script = [
        reading(T0 + t, {"hr": v}, session="tachy", device="strap", seq=t)
        for t, v in values.items()
    ]
    assert replay(engine, script, batch_size) == []


@pytest.mark.parametrize("batch_size", PATHS)
def test_tachycardia_lasting_the_delay_raises_at_that_second(batch_size):
    engine = engine_for("tachy")
    values = {t: 135 if 10 <= t <= 25 else 100 for t in range(60)}
    script = [
        reading(T0 + t, {"hr": v}, session="tachy", device="strap", seq=t)
        for t, v in values.items()
    ]
    assert timeline(replay(engine, script, batch_size)) == [
        ("raised", "hr_high", T0 + 25),
        ("resolved", "hr_high", T0 + 26),  # 100 <= 125
    ]


# ---------------------------------------------------------------- sensor off


@pytest.mark.parametrize("batch_size", PATHS)
def test_sensor_off_then_silence(batch_size):
    engine = engine_for("off")
    script = []
    for t in range(61):
        off = t >= 30
        values = {"spo2": 0, "pr": 0} if off else {"spo2": 97, "pr": 80}
        script.append(
            reading(
                T0 + t,
                values,
                session="off",
                device="oxi",
                seq=t,
                contact=not off,
            )
        )
    script += [Tick(T0 + t) for t in range(65, 95, 5)]  # no data after t = 60
    script.append(reading(T0 + 95, {"spo2": 97, "pr": 80}, session="off", device="oxi", seq=95))
    events = replay(engine, script, batch_size)
    assert timeline(events) == [
        ("raised", "sensor_off@oxi", T0 + 40),  # contact lost since 30, gate delay 10 s
        ("raised", "stale_spo2", T0 + 90),  # last reading at 60, + 30 s
        ("raised", "stale_pr", T0 + 90),
        ("resolved", "stale_spo2", T0 + 95),
        ("resolved", "sensor_off@oxi", T0 + 95),
        ("resolved", "stale_pr", T0 + 95),
    ]
    assert events[1].onset_t == T0 + 90


# ---------------------------------------------------------------- gateway offline


@pytest.mark.parametrize("batch_size", PATHS)
def test_gateway_offline_with_backlog_and_overflow(batch_size):
    engine = engine_for("gw")

    def oximeter(t: int, *, historical: bool = False):
        return reading(
            T0 + t,
            {"spo2": 97, "pr": 80},
            session="gw",
            device="oxi",
            seq=t,
            historical=historical,
        )

    script = [oximeter(t) for t in range(51)]
    script.append(GatewayStatus(session_id="gw", gateway_id="gw1", t=T0 + 51, online=False))
    script += [Tick(T0 + t) for t in (60, 70, 80, 90)]
    script.append(
        GatewayStatus(
            session_id="gw", gateway_id="gw1", t=T0 + 95, online=True, outbox_overflow=True
        )
    )
    script += [oximeter(t, historical=True) for t in range(51, 95)]  # the outbox backlog
    script += [oximeter(t) for t in range(96, 101)]
    script += [Tick(T0 + t) for t in (110, 120)]
    script.append(
        Acknowledge(
            session_id="gw", alarm_id="gw:gateway_offline:gw1:1800000051000", by="rn-b", t=T0 + 125
        )
    )
    events = replay(engine, script, batch_size)
    assert timeline(events) == [
        ("raised", "gateway_offline@gw1", T0 + 51),
        ("raised", "stale_spo2", T0 + 80),
        ("raised", "stale_pr", T0 + 80),
        ("condition_cleared", "gateway_offline@gw1", T0 + 95),  # latched until acknowledged
        ("raised", "outbox_overflow@gw1", T0 + 95),
        ("resolved", "stale_spo2", T0 + 96),
        ("resolved", "stale_pr", T0 + 96),
        ("escalated", "gateway_offline@gw1", T0 + 120),  # high: 60 s unacknowledged
        ("acknowledged", "gateway_offline@gw1", T0 + 125),
        ("resolved", "gateway_offline@gw1", T0 + 125),
    ]
