"""Technical alarms: device link, battery, gateway, outbox, stale data, artifact gates."""

import math

from alerts_testkit import T0, ketamine, reading, timeline

from alerts.engine import AlarmEngine, DeviceStatus, EventKind, GatewayStatus
from alerts.profiles import apply_overrides

QUIET = {"technical": {"stale": {"metrics": []}}, "escalation": {"medium": 1e6, "high": 1e6}}


def engine(extra=None):
    overrides = QUIET if extra is None else {**QUIET, **extra}
    e = AlarmEngine(apply_overrides(ketamine(), overrides))
    e.open_session("S1", started_t=T0)
    return e


def device(t, **kwargs):
    return DeviceStatus(session_id="S1", device_id="oxi", t=t, **kwargs)


def gateway(t, **kwargs):
    return GatewayStatus(session_id="S1", gateway_id="gw", t=t, **kwargs)


def test_device_disconnected_after_its_delay_and_cleared_on_reconnect():
    e = engine()
    assert e.on_device_status(device(T0, connected=False)) == ()
    assert e.advance(T0 + 29) == ()
    events = list(e.advance(T0 + 30))
    events += e.on_device_status(device(T0 + 40, connected=True))
    assert timeline(events) == [
        ("raised", "device_disconnected@oxi", T0 + 30),
        ("resolved", "device_disconnected@oxi", T0 + 40),
    ]
    assert events[0].onset_t == T0


def test_short_disconnection_is_not_an_alarm():
    e = engine()
    e.on_device_status(device(T0, connected=False))
    e.on_device_status(device(T0 + 1, connected=False))  # still the same outage
    assert e.on_device_status(device(T0 + 10, connected=True)) == ()
    assert e.advance(T0 + 100) == ()


def test_zero_delay_disconnection_raises_on_the_report():
    e = engine({"technical": {**QUIET["technical"], "device_disconnected": {"delay_s": 0}}})
    assert timeline(e.on_device_status(device(T0, connected=False))) == [
        ("raised", "device_disconnected@oxi", T0)
    ]


def test_battery_low_with_hysteresis():
    e = engine()
    events = []
    for t, pct in enumerate([50, 21, 20, 15, 24, math.nan, 25, 26]):
        events += e.on_device_status(device(T0 + t, battery_pct=pct))
    assert timeline(events) == [
        ("raised", "battery_low@oxi", T0 + 2),
        ("resolved", "battery_low@oxi", T0 + 6),
    ]
    assert (events[0].value, events[0].threshold, events[0].priority) == (20, 20, "low")


def test_gateway_offline_latches_and_outbox_overflow_clears_on_report():
    e = engine()
    events = list(e.on_gateway_status(gateway(T0, online=False)))
    events += e.on_gateway_status(gateway(T0 + 5, outbox_overflow=True))
    events += e.on_gateway_status(gateway(T0 + 6, online=True))
    events += e.on_gateway_status(gateway(T0 + 7, outbox_overflow=False))
    assert timeline(events) == [
        ("raised", "gateway_offline@gw", T0),
        ("raised", "outbox_overflow@gw", T0 + 5),
        ("condition_cleared", "gateway_offline@gw", T0 + 6),
        ("condition_cleared", "outbox_overflow@gw", T0 + 7),
    ]
    assert e.on_gateway_status(gateway(T0 + 8, online=True, outbox_overflow=False)) == ()


def test_gateway_offline_with_a_delay_fires_on_a_tick():
    e = engine({"technical": {**QUIET["technical"], "gateway_offline": {"delay_s": 20}}})
    e.on_gateway_status(gateway(T0, online=False))
    assert timeline(e.advance(T0 + 20)) == [("raised", "gateway_offline@gw", T0 + 20)]


def test_stale_deadman_fires_without_any_data_from_session_start():
    e = AlarmEngine(apply_overrides(ketamine(), {"escalation": {"medium": 1e6}}))
    e.open_session("S1", started_t=T0)
    assert e.advance(T0 + 29) == ()
    assert timeline(e.advance(T0 + 30)) == [
        ("raised", "stale_spo2", T0 + 30),
        ("raised", "stale_pr", T0 + 30),
    ]
    assert e.advance(T0 + 31) == ()  # raised once
    assert timeline(e.advance(T0 + 1200)) == [("raised", "stale_sbp", T0 + 1200)]
    events = e.on_reading(reading(T0 + 1201, {"sbp": 120, "dbp": 80}, device="cuff"))
    assert timeline(events) == [("resolved", "stale_sbp", T0 + 1201)]
    assert events[0].reading is not None


def test_historical_readings_do_not_feed_the_deadman():
    e = AlarmEngine(apply_overrides(ketamine(), {"escalation": {"medium": 1e6}}))
    e.open_session("S1", started_t=T0)
    e.on_reading(reading(T0 + 20, {"spo2": 97, "pr": 70}, historical=True))
    assert [x.rule_id for x in e.advance(T0 + 30)] == ["stale_spo2", "stale_pr"]


def test_cuff_fault_gates_bp_and_raises_a_technical_alarm():
    e = engine()
    events = e.on_reading(
        reading(T0, {"sbp": 250, "dbp": 130}, device="cuff", flags=["cuff_loose"])
    )
    assert timeline(events) == [("raised", "cuff_fault@cuff", T0)]
    assert events[0].category == "technical"
    events = e.on_reading(reading(T0 + 300, {"sbp": 120, "dbp": 80}, device="cuff"))
    assert timeline(events) == [("resolved", "cuff_fault@cuff", T0 + 300)]


def test_an_artifact_does_not_clear_an_active_alarm_and_resets_a_pending_one():
    e = engine()
    spo2 = [(0, 85, ()), (15, 85, ()), (16, 95, ("plx_invalid",)), (17, 95, ())]
    events = []
    for t, v, flags in spo2:
        events += e.on_reading(reading(T0 + t, {"spo2": v}, flags=flags))
    # Raised at 15; the flagged 95 at 16 does not clear them; the clean 95 at 17 does.
    assert timeline(events) == [
        ("raised", "spo2_low", T0 + 15),
        ("raised", "spo2_critical", T0 + 15),
        ("resolved", "spo2_low", T0 + 17),
        ("condition_cleared", "spo2_critical", T0 + 17),
    ]
    e2 = engine()
    events = []
    for t, flags in [(0, ()), (10, ("plx_invalid",)), (14, ()), (28, ()), (29, ())]:
        events += e2.on_reading(reading(T0 + t, {"spo2": 85}, flags=flags))
    # The flagged sample at 10 restarts persistence: the condition is pending from 14.
    assert [(k, r, t) for k, r, t in timeline(events) if r == "spo2_low"] == [
        ("raised", "spo2_low", T0 + 29)
    ]


def test_contact_false_gates_all_metrics_of_that_reading_only():
    e = engine()
    events = e.on_reading(reading(T0, {"spo2": 0, "pr": 0}, contact=False, device="oxi"))
    assert events == ()
    events = e.on_reading(reading(T0, {"hr": 30}, device="strap"))
    assert events == ()  # hr_low pending (15 s delay), not gated by the oximeter's contact
    events = e.on_reading(reading(T0 + 15, {"hr": 30}, device="strap"))
    assert [(x.kind, x.rule_id) for x in events] == [(EventKind.RAISED, "hr_low")]


def test_unknown_flags_are_ignored():
    e = engine()
    assert e.on_reading(reading(T0, {"spo2": 97}, flags=["sparkles"])) == ()
