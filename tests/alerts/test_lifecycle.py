"""The alarm state machine: latching, acknowledgement, audio pause, escalation, rejections."""

import math

from alerts_testkit import T0, ketamine, peer_profile, reading

from alerts.engine import (
    Acknowledge,
    AlarmEngine,
    CommandAccepted,
    CommandRejected,
    Escalate,
    EventKind,
    PauseAudio,
    RejectionReason,
)
from alerts.profiles import apply_overrides

QUIET_TECH = {"technical": {"stale": {"metrics": []}}}


def engine(**overrides):
    return AlarmEngine(apply_overrides(ketamine(), {**QUIET_TECH, **overrides}))


def kinds(events):
    return [(e.kind, e.rule_id, e.t) for e in events]


def ack(e, alarm_id, t, session="S1"):
    return e.on_command(Acknowledge(session_id=session, alarm_id=alarm_id, by="rn", t=t))


def pause(e, alarm_id, t, session="S1"):
    return e.on_command(PauseAudio(session_id=session, alarm_id=alarm_id, by="rn", t=t))


def only(events, alarm_id):
    return tuple(x for x in events if x.alarm_id == alarm_id)


def severe(e, t, value=230):
    """sbp at t; returns the sbp_severe events (high, latching, no delay)."""
    return [x for x in e.on_reading(reading(t, {"sbp": value})) if x.rule_id == "sbp_severe"]


def test_latched_alarm_stays_until_acknowledged_then_resolves():
    e = engine()
    (raised,) = severe(e, T0)
    (cleared,) = severe(e, T0 + 60, 200)
    assert cleared.kind is EventKind.CONDITION_CLEARED
    assert cleared.alarm_id == raised.alarm_id
    assert (
        only(e.advance(T0 + 59), raised.alarm_id) == ()
    )  # escalation of high priority is due at T0 + 60
    (escalated,) = only(e.advance(T0 + 61), raised.alarm_id)
    assert escalated.kind is EventKind.ESCALATED
    assert only(e.advance(T0 + 500), raised.alarm_id) == ()  # escalates once
    result = ack(e, raised.alarm_id, T0 + 600)
    assert isinstance(result, CommandAccepted)
    assert [x.kind for x in result.events] == [EventKind.ACKNOWLEDGED, EventKind.RESOLVED]
    assert result.events[0].actor == "rn"
    assert "acknowledged by rn" in result.events[0].message
    (still_open,) = e.open_alarms("S1")  # the medium alarm: 200 > 155 has not cleared
    assert still_open.alarm_id == "S1:sbp_elevated:1800000000000"
    assert (still_open.acknowledged, still_open.condition_present) == (False, True)


def test_condition_returning_while_latched_keeps_the_episode():
    e = engine()
    (raised,) = severe(e, T0)
    severe(e, T0 + 10, 200)
    (back,) = severe(e, T0 + 20)
    assert back.kind is EventKind.CONDITION_RETURNED
    assert back.alarm_id == raised.alarm_id
    result = ack(e, raised.alarm_id, T0 + 30)
    assert [x.kind for x in result.events] == [EventKind.ACKNOWLEDGED]
    (resolved,) = severe(e, T0 + 40, 200)  # acknowledged: clears by itself
    assert resolved.kind is EventKind.RESOLVED
    (again,) = severe(e, T0 + 50)
    assert again.kind is EventKind.RAISED
    assert again.alarm_id == "S1:sbp_severe:1800000050000"


def test_acknowledgement_expires_and_re_alarms_then_escalates_again():
    e = engine(inactivation={"acknowledge_s": 100})
    (raised,) = severe(e, T0)
    ack(e, raised.alarm_id, T0 + 10)
    assert only(e.advance(T0 + 109), raised.alarm_id) == ()  # no escalation while acknowledged
    (expired,) = only(e.advance(T0 + 110), raised.alarm_id)
    assert (expired.kind, expired.t) == (EventKind.ACK_EXPIRED, T0 + 110)
    assert only(e.advance(T0 + 169), raised.alarm_id) == ()
    (escalated,) = only(e.advance(T0 + 170), raised.alarm_id)
    assert escalated.kind is EventKind.ESCALATED
    second = ack(e, raised.alarm_id, T0 + 200)
    assert isinstance(second, CommandAccepted)
    again = ack(e, raised.alarm_id, T0 + 250)  # re-acknowledging renews the window
    assert isinstance(again, CommandAccepted)
    assert only(e.advance(T0 + 349), raised.alarm_id) == ()
    assert [x.kind for x in only(e.advance(T0 + 350), raised.alarm_id)] == [EventKind.ACK_EXPIRED]


def test_audio_pause_expires_while_the_alarm_persists():
    e = engine(inactivation={"audio_pause_s": 30})
    (raised,) = severe(e, T0)
    result = pause(e, raised.alarm_id, T0 + 5)
    assert isinstance(result, CommandAccepted)
    assert result.events[0].kind is EventKind.AUDIO_PAUSED
    assert only(e.advance(T0 + 34), raised.alarm_id) == ()
    assert [x.kind for x in only(e.advance(T0 + 35), raised.alarm_id)] == [
        EventKind.AUDIO_PAUSE_EXPIRED
    ]
    assert only(e.advance(T0 + 40), raised.alarm_id) == ()


def test_acknowledging_cancels_an_audio_pause():
    e = engine(inactivation={"audio_pause_s": 30})
    (raised,) = severe(e, T0)
    pause(e, raised.alarm_id, T0 + 5)
    ack(e, raised.alarm_id, T0 + 10)
    assert only(e.advance(T0 + 40), raised.alarm_id) == ()


def test_audio_pause_and_escalation_fire_in_one_tick():
    e = engine(inactivation={"audio_pause_s": 30})
    (raised,) = severe(e, T0)
    pause(e, raised.alarm_id, T0 + 50)
    assert [x.kind for x in only(e.advance(T0 + 90), raised.alarm_id)] == [
        EventKind.AUDIO_PAUSE_EXPIRED,
        EventKind.ESCALATED,
    ]


def test_commands_on_unknown_resolved_or_acknowledged_alarms_are_rejected():
    e = engine()
    missing = ack(e, "S1:sbp_severe:1800000000000", T0)
    assert missing == CommandRejected(
        alarm_id="S1:sbp_severe:1800000000000",
        reason=RejectionReason.UNKNOWN_ALARM,
        message="session S1 is not open",
    )
    (raised,) = severe(e, T0)
    assert ack(e, "S1:sbp_severe:1800000000001", T0).reason is RejectionReason.UNKNOWN_ALARM
    assert ack(e, "S1:nonsense", T0).reason is RejectionReason.UNKNOWN_ALARM
    assert ack(e, "S2:sbp_severe:1800000000000", T0).reason is RejectionReason.UNKNOWN_ALARM
    assert ack(e, "S1:sbp_severe:x", T0).reason is RejectionReason.UNKNOWN_ALARM
    ack(e, raised.alarm_id, T0 + 1)
    rejected = pause(e, raised.alarm_id, T0 + 2)
    assert isinstance(rejected, CommandRejected)
    assert rejected.reason is RejectionReason.ALREADY_ACKNOWLEDGED
    severe(e, T0 + 3, 200)  # acknowledged and cleared: resolved
    for command in (ack, pause):
        result = command(e, raised.alarm_id, T0 + 4)
        assert isinstance(result, CommandRejected)
        assert result.reason is RejectionReason.ALREADY_RESOLVED
        assert result.message == f"alarm {raised.alarm_id} is already resolved"


def test_medium_alarm_clears_by_itself_and_escalates_after_its_own_time():
    e = engine()
    events = e.on_reading(reading(T0, {"sbp": 170}))
    assert kinds(events) == [(EventKind.RAISED, "sbp_elevated", T0)]
    assert e.advance(T0 + 299) == ()
    assert kinds(e.advance(T0 + 300)) == [(EventKind.ESCALATED, "sbp_elevated", T0 + 300)]
    assert kinds(e.on_reading(reading(T0 + 400, {"sbp": 150}))) == [
        (EventKind.RESOLVED, "sbp_elevated", T0 + 400)
    ]


def test_low_priority_never_escalates():
    e = engine()
    e.on_reading(reading(T0, {"dbp": 95}))
    assert e.advance(T0 + 10_000) == ()


def test_peer_profile_emits_nothing_but_raises_and_resolutions():
    e = AlarmEngine(peer_profile(0))
    events = list(e.on_reading(reading(T0, {"hr": 130})))
    events += e.advance(T0 + 10_000)
    events += e.on_reading(reading(T0 + 10_001, {"hr": 100}))
    assert [x.kind for x in events] == [EventKind.RAISED, EventKind.RESOLVED]


def test_event_messages_name_the_session_and_never_more():
    e = engine()
    (raised,) = severe(e, T0)
    assert raised.message == "session S1: sbp_severe (sbp >= 220): alarm; value 230"
    e.on_reading(reading(T0 + 1, {"spo2": 97}))
    (x,) = [x for x in e.on_reading(reading(T0 + 2, {"spo2": 80})) if x.rule_id == "spo2_falling"]
    assert x.message == "session S1: spo2_falling (spo2 falling >= 4 within 60 s): alarm; value 80"


def test_event_ids_name_the_alarm_the_kind_and_the_time():
    e = engine()
    (raised,) = severe(e, T0)
    result = ack(e, raised.alarm_id, T0 + 1)
    (cleared,) = severe(e, T0 + 2, 200)
    assert [raised.event_id, result.events[0].event_id, cleared.event_id] == [
        "S1:sbp_severe:1800000000000.raised.1800000000000",
        "S1:sbp_severe:1800000000000.acknowledged.1800000001000",
        "S1:sbp_severe:1800000000000.resolved.1800000002000",
    ]


def test_requested_durations_override_the_profile_and_are_validated():
    e = engine()
    (raised,) = severe(e, T0)
    for bad in (0, -5, math.nan, math.inf):
        for command in (Acknowledge, PauseAudio):
            result = e.on_command(
                command(session_id="S1", alarm_id=raised.alarm_id, by="rn", t=T0, duration_s=bad)
            )
            assert isinstance(result, CommandRejected)
            assert result.reason is RejectionReason.INVALID_DURATION
    e.on_command(PauseAudio(session_id="S1", alarm_id=raised.alarm_id, by="rn", t=T0, duration_s=5))
    assert [x.kind for x in only(e.advance(T0 + 5), raised.alarm_id)] == [
        EventKind.AUDIO_PAUSE_EXPIRED
    ]
    e.on_command(
        Acknowledge(session_id="S1", alarm_id=raised.alarm_id, by="rn", t=T0 + 6, duration_s=10)
    )
    assert [x.kind for x in only(e.advance(T0 + 16), raised.alarm_id)] == [EventKind.ACK_EXPIRED]


def test_a_clinician_can_escalate_at_once():
    e = engine()
    (raised,) = severe(e, T0)
    result = e.on_command(Escalate(session_id="S1", alarm_id=raised.alarm_id, by="rn", t=T0 + 1))
    assert isinstance(result, CommandAccepted)
    (escalated,) = result.events
    assert (escalated.kind, escalated.actor, escalated.t) == (EventKind.ESCALATED, "rn", T0 + 1)
    ack(e, raised.alarm_id, T0 + 2)
    severe(e, T0 + 3, 200)
    late = e.on_command(Escalate(session_id="S1", alarm_id=raised.alarm_id, by="rn", t=T0 + 4))
    assert isinstance(late, CommandRejected)
    assert late.reason is RejectionReason.ALREADY_RESOLVED


def test_episodes_with_onsets_in_one_millisecond_get_distinct_ids():
    e = AlarmEngine(peer_profile(0))
    first = e.on_reading(reading(T0, {"hr": 130}))[0].alarm_id
    e.on_reading(reading(T0 + 0.0001, {"hr": 100}))
    second = e.on_reading(reading(T0 + 0.0002, {"hr": 130}))[0].alarm_id
    e.on_reading(reading(T0 + 0.0003, {"hr": 100}))
    third = e.on_reading(reading(T0 + 0.0004, {"hr": 130}))[0].alarm_id
    assert [first, second, third] == [
        "S1:hr_high:1800000000000",
        "S1:hr_high:1800000000000-2",
        "S1:hr_high:1800000000000-3",
    ]


def test_only_recently_resolved_ids_are_remembered(monkeypatch):
    monkeypatch.setattr("alerts.engine.lifecycle.RESOLVED_REMEMBERED", 2)
    e = AlarmEngine(peer_profile(0))
    ids = []
    for i in range(3):
        ids.append(e.on_reading(reading(T0 + 2 * i, {"hr": 130}))[0].alarm_id)
        e.on_reading(reading(T0 + 2 * i + 1, {"hr": 100}))
    reasons = [ack(e, alarm_id, T0 + 10).reason for alarm_id in ids]
    assert reasons == [
        RejectionReason.UNKNOWN_ALARM,
        RejectionReason.ALREADY_RESOLVED,
        RejectionReason.ALREADY_RESOLVED,
    ]
