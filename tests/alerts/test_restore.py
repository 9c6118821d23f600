"""Restoring open alarms after a processor restart: no second raise, no orphaned episode."""

import pytest
from alerts_testkit import T0, ketamine, reading, timeline

from alerts.engine import (
    Acknowledge,
    AlarmEngine,
    DeviceStatus,
    GatewayStatus,
    OpenAlarm,
    ReadingBatch,
    RestoredAlarm,
)
from alerts.profiles import apply_overrides

PROFILE = apply_overrides(
    ketamine(), {"technical": {"stale": {"metrics": ["spo2"]}}, "escalation": {"medium": 1e6}}
)


def restarted(before: AlarmEngine, session: str = "S1", *, vector_min_rows: int = 64):
    """A new engine with the first one's open alarms restored, as a processor would from its
    retained states."""
    after = AlarmEngine(PROFILE, vector_min_rows=vector_min_rows)
    after.open_session(session, started_t=T0)
    for alarm in before.open_alarms(session):
        assert after.restore(as_restored(session, alarm)), alarm
    return after


def as_restored(session: str, alarm: OpenAlarm) -> RestoredAlarm:
    return RestoredAlarm(
        session_id=session,
        alarm_id=alarm.alarm_id,
        onset_t=alarm.onset_t,
        condition_present=alarm.condition_present,
        acknowledged=alarm.acknowledged,
        ack_until=alarm.ack_until,
        escalated=alarm.escalates_at is None,
    )


def spo2(t, value, **kwargs):
    return reading(T0 + t, {"spo2": value}, device="oxi", seq=t, **kwargs)


def test_a_persisting_condition_continues_its_episode_after_a_restart():
    before = AlarmEngine(PROFILE)
    events = [e for t in range(20) for e in before.on_reading(spo2(t, 85))]
    assert timeline(events) == [
        ("raised", "spo2_low", T0 + 15),
        ("raised", "spo2_critical", T0 + 15),
    ]
    after = restarted(before)
    assert {a.alarm_id for a in after.open_alarms("S1")} == {e.alarm_id for e in events}
    assert [e for t in range(20, 40) for e in after.on_reading(spo2(t, 85))] == []
    recovered = after.on_reading(spo2(40, 95))
    assert timeline(recovered) == [
        ("resolved", "spo2_low", T0 + 40),
        ("condition_cleared", "spo2_critical", T0 + 40),
    ]
    assert [e.alarm_id for e in recovered] == [e.alarm_id for e in events]


def test_batch_path_sees_restored_conditions():
    before = AlarmEngine(PROFILE)
    for t in range(20):
        before.on_reading(spo2(t, 85))
    after = restarted(before, vector_min_rows=0)
    assert after.on_batch(ReadingBatch.from_readings([spo2(t, 85) for t in range(20, 30)])) == ()
    events = after.on_batch(ReadingBatch.from_readings([spo2(30, 95)]))
    assert [e.rule_id for e in events] == ["spo2_low", "spo2_critical"]


def test_latched_and_acknowledged_states_are_restored():
    before = AlarmEngine(PROFILE)
    raised = [e for t in range(16) for e in before.on_reading(spo2(t, 85))]
    critical = next(e.alarm_id for e in raised if e.rule_id == "spo2_critical")
    low = next(e.alarm_id for e in raised if e.rule_id == "spo2_low")
    before.on_command(Acknowledge(session_id="S1", alarm_id=low, by="rn", t=T0 + 16))
    before.on_reading(spo2(17, 91))  # critical cleared: latched; low persists, acknowledged
    after = restarted(before)
    states = {a.rule_id: (a.acknowledged, a.condition_present) for a in after.open_alarms("S1")}
    assert states == {"spo2_low": (True, True), "spo2_critical": (False, False)}
    ticked = [x for x in timeline(after.advance(T0 + 316)) if x[1] == "spo2_low"]
    assert ticked == [("ack_expired", "spo2_low", T0 + 316)]
    result = after.on_command(Acknowledge(session_id="S1", alarm_id=critical, by="rn", t=T0 + 400))
    assert [e.kind for e in result.events] == ["acknowledged", "resolved"]


def test_an_acknowledgement_of_unknown_length_expires_at_the_next_tick():
    before = AlarmEngine(PROFILE)
    (raised,) = [
        e for e in before.on_reading(reading(T0, {"sbp": 230})) if e.rule_id == "sbp_severe"
    ]
    after = AlarmEngine(PROFILE)
    after.open_session("S1", started_t=T0)
    alarm = RestoredAlarm(session_id="S1", alarm_id=raised.alarm_id, onset_t=T0, acknowledged=True)
    assert after.restore(alarm)
    assert timeline(after.advance(T0 + 1)) == [("ack_expired", "sbp_severe", T0 + 1)]


def test_escalation_is_re_armed_from_the_onset_unless_it_happened():
    before = AlarmEngine(PROFILE)
    (raised,) = [
        e for e in before.on_reading(reading(T0, {"sbp": 230})) if e.rule_id == "sbp_severe"
    ]
    for escalated, expected in ((False, [("escalated", "sbp_severe", T0 + 60)]), (True, [])):
        after = AlarmEngine(PROFILE)
        after.open_session("S1", started_t=T0)
        after.restore(
            RestoredAlarm(
                session_id="S1", alarm_id=raised.alarm_id, onset_t=T0, escalated=escalated
            )
        )
        assert [x for x in timeline(after.advance(T0 + 60)) if x[1] == "sbp_severe"] == expected


def test_technical_alarms_are_restored():
    before = AlarmEngine(PROFILE)
    before.open_session("S1", started_t=T0)
    before.on_device_status(
        DeviceStatus(session_id="S1", device_id="oxi", t=T0, connected=False, battery_pct=10)
    )
    before.on_gateway_status(
        GatewayStatus(session_id="S1", gateway_id="gw", t=T0, online=False, outbox_overflow=True)
    )
    before.advance(T0 + 30)  # device disconnected after 30 s; spo2 stale after 30 s
    for t in range(31, 45):
        before.on_reading(spo2(t, 97, flags=["body_movement"]))
    assert {a.rule_id for a in before.open_alarms("S1")} == {
        "device_disconnected",
        "battery_low",
        "gateway_offline",
        "outbox_overflow",
        "motion",
    }
    before.on_reading(spo2(45, 97, flags=["body_movement"]))
    after = restarted(before)
    events = list(
        after.on_device_status(
            DeviceStatus(
                session_id="S1", device_id="oxi", t=T0 + 50, connected=True, battery_pct=80
            )
        )
    )
    events += after.on_gateway_status(
        GatewayStatus(
            session_id="S1", gateway_id="gw", t=T0 + 50, online=True, outbox_overflow=False
        )
    )
    events += after.on_reading(spo2(51, 97))
    assert timeline(events) == [
        ("resolved", "device_disconnected@oxi", T0 + 50),
        ("resolved", "battery_low@oxi", T0 + 50),
        ("condition_cleared", "gateway_offline@gw", T0 + 50),
        ("condition_cleared", "outbox_overflow@gw", T0 + 50),
        ("resolved", "motion@oxi", T0 + 51),
    ]


def test_a_stale_alarm_is_restored_and_cleared_by_data():
    before = AlarmEngine(PROFILE)
    before.open_session("S1", started_t=T0)
    (stale,) = before.advance(T0 + 30)
    after = restarted(before)
    assert after.advance(T0 + 100) == ()  # not raised again
    assert timeline(after.on_reading(spo2(101, 97))) == [("resolved", "stale_spo2", T0 + 101)]
    assert stale.alarm_id == "S1:stale_spo2:1800000030000"


@pytest.mark.parametrize(
    "alarm_id",
    [
        "S2:spo2_low:1800000000000",  # another session's
        "S1:no_such_rule:1800000000000",
        "S1:stale_hr:1800000000000",  # hr is not watched
        "S1:stale_ecg:1800000000000",
        "S1:mystery:dev:1800000000000",
        "S1",
        "S1:spo2_low",
    ],
)
def test_ids_that_are_not_this_sessions_alarms_are_refused(alarm_id):
    engine = AlarmEngine(PROFILE)
    engine.open_session("S1", started_t=T0)
    assert not engine.restore(RestoredAlarm(session_id="S1", alarm_id=alarm_id, onset_t=T0))
    assert engine.open_alarms("S1") == ()


def test_inconsistent_or_orphan_states_are_refused():
    engine = AlarmEngine(PROFILE)
    good = "S1:spo2_low:1800000000000"
    assert not engine.restore(RestoredAlarm(session_id="S1", alarm_id=good, onset_t=T0))
    engine.open_session("S1", started_t=T0)
    acknowledged_but_cleared = RestoredAlarm(
        session_id="S1", alarm_id=good, onset_t=T0, acknowledged=True, condition_present=False
    )
    assert not engine.restore(acknowledged_but_cleared)
    assert not engine.restore(RestoredAlarm(session_id="S1", alarm_id=good, onset_t=float("nan")))


@pytest.mark.parametrize(
    "alarm_id",
    [
        "S1:gateway_offline:gw:1800000000000",
        "S1:battery_low:oxi:1800000000000",
        "S1:motion:oxi:1800000000000",
        "S1:spo2_critical:1800000000000",
    ],
)
def test_latched_alarms_are_restored_without_an_active_condition(alarm_id):
    engine = AlarmEngine(PROFILE)
    engine.open_session("S1", started_t=T0)
    latched = RestoredAlarm(
        session_id="S1", alarm_id=alarm_id, onset_t=T0, condition_present=False, escalated=True
    )
    assert engine.restore(latched)
    (alarm,) = engine.open_alarms("S1")
    assert (alarm.alarm_id, alarm.condition_present) == (alarm_id, False)
    result = engine.on_command(Acknowledge(session_id="S1", alarm_id=alarm_id, by="rn", t=T0 + 5))
    assert [e.kind for e in result.events] == ["acknowledged", "resolved"]
