"""The alarm engine behind the processor's Evaluator protocol: wire in, wire out."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.clock import ManualClock
from monitor.columns import columns_of
from monitor.engine_evaluator import EngineEvaluator
from monitor.evaluation import Decisions, HistoryRequest, Live, StateChange, StoredValue
from vigil.wire import (
    AlarmState,
    Command,
    CommandResult,
    DeviceStatus,
    GatewayStatus,
    Reading,
    ReadingBatch,
    SessionDescriptor,
)

T0 = 1_764_480_000.0


def _batch(session: str, *readings: Reading) -> ReadingBatch:
    return ReadingBatch(
        gateway="gw-1", session=session, device="hr-1", kind="hr_strap", readings=list(readings)
    )


def _hr(seq: int, value: float, t: float | None = None) -> Reading:
    return Reading(seq=seq, t=T0 + seq if t is None else t, values={"hr": value}, contact=True)


def _session(**fields: Any) -> SessionDescriptor:
    """Session S-1 of patient P-1, started at T0; `fields` override or add."""
    base: dict[str, Any] = {
        "session": "S-1", "patient": "P-1", "devices": [], "profile": "ketamine-home",
        "clinicians": [], "started": T0,
    }  # fmt: skip
    return SessionDescriptor(**{**base, **fields})


def _live(batch: ReadingBatch) -> Live:
    """As the pipeline hands it over: as columns when the readings are plain."""
    return batch, batch.readings, columns_of(batch.readings)


def _feed(evaluator: EngineEvaluator, session: str, *readings: Reading):
    return evaluator.on_live([_live(_batch(session, *readings))])


def test_a_raise_and_its_resolve_carry_the_reading_and_the_retained_state() -> None:
    evaluator = EngineEvaluator("peer-compat")
    raised = _feed(evaluator, "S-1", _hr(0, 70), _hr(1, 130))
    (event,) = raised.events
    assert (event.kind, event.rule, event.priority, event.session) == (
        "raised",
        "hr_high",
        "high",
        "S-1",
    )
    assert (event.device, event.seq, event.source_t, event.value, event.threshold) == (
        "hr-1",
        1,
        T0 + 1,
        130.0,
        120.0,
    )
    (change,) = raised.states
    assert change.state is not None
    assert (change.alarm_id, change.state.state, change.state.rule) == (
        event.alarm_id,
        "active",
        "hr_high",
    )

    resolved = _feed(evaluator, "S-1", _hr(2, 110))
    assert [e.kind for e in resolved.events] == ["resolved"]
    assert resolved.states == (StateChange("S-1", event.alarm_id, None),)


def test_replaying_the_same_inputs_gives_the_same_ids() -> None:
    first, second = EngineEvaluator("peer-compat"), EngineEvaluator("peer-compat")
    a = _feed(first, "S-1", _hr(0, 130), _hr(1, 100))
    b = _feed(second, "S-1", _hr(0, 130), _hr(1, 100))
    assert [e.event_id for e in a.events] == [e.event_id for e in b.events]
    assert len({e.event_id for e in a.events}) == 2


def test_a_big_batch_takes_the_vector_path_and_decides_the_same() -> None:
    values = [70.0] * 40 + [130.0] * 5 + [70.0] * 40
    readings = [_hr(i, v) for i, v in enumerate(values)]
    vector = _feed(EngineEvaluator("peer-compat"), "S-1", *readings)
    scalar = EngineEvaluator("peer-compat")
    one_by_one = [e for r in readings for e in _feed(scalar, "S-1", r).events]
    assert (
        [(e.kind, e.seq) for e in vector.events]
        == [(e.kind, e.seq) for e in one_by_one]
        == [("raised", 40), ("resolved", 45)]
    )


def test_acknowledging_answers_with_a_result_and_a_new_state() -> None:
    evaluator = EngineEvaluator("ketamine-home")
    evaluator.on_session(_session(devices=["hr-1"], profile="ketamine-home", clinicians=["dr-a"]))
    decided = _feed(evaluator, "S-1", *(_hr(i, 150) for i in range(40)))
    alarm = next(e for e in decided.events if e.kind == "raised" and e.rule == "hr_high")
    ack = evaluator.on_command(
        Command(
            session="S-1",
            alarm_id=alarm.alarm_id,
            action="acknowledge",
            by="dr-a",
            t=T0 + 41,
            request_id="r1",
        )
    )
    assert ack.results == (
        CommandResult(
            session="S-1",
            alarm_id=alarm.alarm_id,
            action="acknowledge",
            by="dr-a",
            t=T0 + 41,
            accepted=True,
            request_id="r1",
        ),
    )
    assert [e.kind for e in ack.events] == ["acknowledged"]
    state = ack.states[0].state
    assert state is not None
    assert (state.state, state.acknowledged_by) == ("acknowledged", "dr-a")
    assert state.until == T0 + 41 + 300  # the profile's acknowledge_s


def test_commands_on_unknown_alarms_or_sessions_are_rejected_with_a_reason() -> None:
    evaluator = EngineEvaluator("peer-compat")
    _feed(evaluator, "S-1", _hr(0, 70))
    unknown = evaluator.on_command(
        Command(session="S-1", alarm_id="S-1:nope:1", action="acknowledge", by="dr-a", t=T0)
    )
    assert [(r.accepted, r.reason) for r in unknown.results] == [(False, "unknown_alarm")]
    assert unknown.events == ()
    no_session = evaluator.on_command(
        Command(session="S-9", alarm_id="x", action="audio_pause", by="dr-a", t=T0)
    )
    assert [(r.accepted, r.reason) for r in no_session.results] == [(False, "unknown_alarm")]
    note = evaluator.on_command(
        Command(session="S-1", alarm_id="x", action="note", by="dr-a", t=T0, note="called")
    )
    assert [(r.accepted, r.action) for r in note.results] == [(True, "note")]


def test_a_restored_alarm_continues_under_its_id() -> None:
    first = EngineEvaluator("peer-compat")
    raised = _feed(first, "S-1", _hr(0, 130))
    state = raised.states[0].state
    assert state is not None
    restarted = EngineEvaluator("peer-compat")
    restarted.restore([state])
    again = _feed(restarted, "S-1", _hr(1, 135))
    assert again.events == ()  # still the same episode: no second raise
    cleared = _feed(restarted, "S-1", _hr(2, 100))
    assert [(e.kind, e.alarm_id) for e in cleared.events] == [("resolved", state.alarm_id)]


def test_an_ended_session_clears_its_retained_alarm_states() -> None:
    evaluator = EngineEvaluator("peer-compat")
    evaluator.on_session(_session(profile="peer-compat"))
    raised = _feed(evaluator, "S-1", _hr(0, 130))
    ended = evaluator.on_session(_session(profile="peer-compat", ended=T0 + 10))
    assert ended.states == (StateChange("S-1", raised.events[0].alarm_id, None),)


def test_a_gateway_going_offline_raises_a_technical_alarm_in_its_sessions() -> None:
    evaluator = EngineEvaluator("ketamine-home")
    evaluator.on_status(
        DeviceStatus(
            gateway="gw-1", session="S-1", device="hr-1", kind="hr_strap", state="connected", t=T0
        )
    )
    offline = evaluator.on_gateway_status(GatewayStatus(gateway="gw-1", state="offline", t=T0 + 5))
    assert [(e.kind, e.rule, e.priority) for e in offline.events] == [
        ("raised", "gateway_offline", "high")
    ]
    assert (
        evaluator.on_gateway_status(GatewayStatus(gateway="gw-2", state="offline", t=T0 + 5)).events
        == ()
    )


def test_an_unknown_profile_falls_back_to_the_default_and_says_so(caplog) -> None:
    evaluator = EngineEvaluator("peer-compat")
    evaluator.on_session(_session(profile="nonexistent"))
    assert "unknown profile 'nonexistent'" in caplog.text
    assert [e.kind for e in _feed(evaluator, "S-1", _hr(0, 130)).events] == ["raised"]


def test_refused_overrides_keep_the_profile_limits_and_say_so(caplog) -> None:
    evaluator = EngineEvaluator("peer-compat")
    evaluator.on_session(_session(profile="peer-compat", overrides={"hr_high": {"limit": "high"}}))
    assert "overrides refused" in caplog.text
    assert [e.kind for e in _feed(evaluator, "S-1", _hr(0, 130)).events] == ["raised"]


def test_overrides_change_a_sessions_limits() -> None:
    evaluator = EngineEvaluator("peer-compat")
    evaluator.on_session(_session(profile="peer-compat", overrides={"hr_high": {"limit": 140.0}}))
    assert _feed(evaluator, "S-1", _hr(0, 130)).events == ()
    assert [e.kind for e in _feed(evaluator, "S-1", _hr(1, 141)).events] == ["raised"]


def test_the_dose_fixes_the_baseline_when_its_time_comes() -> None:
    evaluator = EngineEvaluator("ketamine-home")
    evaluator.on_session(_session(devices=["hr-1"], profile="ketamine-home", dose_time=T0 + 100))
    _feed(evaluator, "S-1", *(_hr(i, 70) for i in range(0, 90, 2)))
    assert evaluator._engine.baseline("S-1", "hr") is None
    evaluator.advance(T0 + 101)
    assert evaluator._engine.baseline("S-1", "hr") == 70.0


def test_restored_state_round_trips_through_the_wire_type() -> None:
    state = AlarmState(
        session="S-1",
        alarm_id="S-1:hr_high:1",
        rule="hr_high",
        priority="high",
        state="latched",
        message="m",
        onset=T0,
        t=T0,
        escalated=True,
    )
    evaluator = EngineEvaluator("ketamine-home")
    evaluator.restore([state])
    _feed(evaluator, "S-1", _hr(0, 70))  # opens the session, which restores its alarms
    assert "S-1" in evaluator._sessions


def test_a_cuff_between_cycles_is_not_a_disconnected_device() -> None:
    evaluator = EngineEvaluator("ketamine-home")
    for device, kind in (("bp-1", "bp_cuff"), ("ox-1", "pulse_oximeter")):
        evaluator.on_status(
            DeviceStatus(
                gateway="gw-1", session="S-1", device=device, kind=kind, state="disconnected", t=T0
            )
        )
    later = evaluator.advance(T0 + 60)
    assert [(e.rule, e.kind) for e in later.events if e.rule == "device_disconnected"] == [
        ("device_disconnected", "raised")
    ]
    assert [e.subject for e in later.events if e.rule == "device_disconnected"] == ["ox-1"]


def _bp(seq: int, sbp: float, t: float) -> Reading:
    return Reading(seq=seq, t=t, values={"sbp": sbp, "dbp": 80.0, "hr": 70.0})


def _cuff(session: str, *readings: Reading) -> ReadingBatch:
    return ReadingBatch(
        gateway="gw-1", session=session, device="bp-1", kind="bp_cuff", readings=list(readings)
    )


def _rises(decisions: Decisions) -> list[str]:
    return [e.rule for e in decisions.events if e.kind == "raised" and e.rule == "sbp_rise"]


def test_the_dose_publishes_its_baseline_and_a_restart_resumes_rise_rules_with_it() -> None:
    dosed = _session(devices=["bp-1"], dose_time=T0 + 600)
    first = EngineEvaluator()
    first.on_session(dosed)
    before = _cuff("S-1", _bp(0, 118, T0 + 100), _bp(1, 122, T0 + 400))
    first.on_live([_live(before)])
    marked = first.advance(T0 + 601)
    ((session, baseline),) = marked.baselines
    assert session == "S-1"
    assert baseline is not None
    assert (baseline.dose_time, baseline.values["sbp"]) == (T0 + 600, 120.0)

    # A restarted processor: the pre-dose readings are gone, the retained baseline is not.
    restarted = EngineEvaluator()
    restarted.restore([], [baseline])
    restarted.on_session(dosed)
    surge = _cuff("S-1", _bp(2, 165, T0 + 2400))
    assert _rises(restarted.on_live([_live(surge)])) == ["sbp_rise"]

    # Without it the rise (165 is under every absolute limit) would go unnoticed.
    forgetful = EngineEvaluator()
    forgetful.on_session(dosed)
    assert _rises(forgetful.on_live([_live(surge)])) == []


def test_an_ended_session_clears_its_retained_baseline() -> None:
    evaluator = EngineEvaluator()
    evaluator.on_session(_session(dose_time=T0))
    evaluator.advance(T0 + 1)
    ended = evaluator.on_session(_session(dose_time=T0, ended=T0 + 10))
    assert ended.baselines == (("S-1", None),)


def test_a_delay_running_at_a_restart_resumes_from_the_retained_pending_conditions() -> None:
    first = EngineEvaluator("ketamine-home", clock=ManualClock(T0 + 9))
    first.on_session(_session())
    started = _feed(first, "S-1", _hr(0, 140))  # hr_high: >= 131 for 15 s
    ((session, delays),) = started.pending
    assert delays is not None
    assert (session, delays.pending, delays.t) == ("S-1", {"hr_high": T0}, T0 + 9)
    assert _feed(first, "S-1", *(_hr(s, 140) for s in range(1, 10))) == Decisions()

    # Restarted: the delay resumes from T0, as if nothing had happened.
    restarted = EngineEvaluator("ketamine-home")
    restarted.restore([], [], [delays])
    restarted.on_session(_session())
    assert _feed(restarted, "S-1", *(_hr(s, 140) for s in range(10, 15))).events == ()
    (raised,) = _feed(restarted, "S-1", _hr(15, 140)).events
    assert (raised.kind, raised.rule, raised.t, raised.onset) == ("raised", "hr_high", T0 + 15, T0)

    # Without it the delay starts over at the first reading after the restart.
    forgetful = EngineEvaluator("ketamine-home")
    forgetful.on_session(_session())
    assert _feed(forgetful, "S-1", *(_hr(s, 140) for s in range(10, 16))).events == ()


def test_pending_conditions_are_cleared_when_they_end_and_when_the_session_ends() -> None:
    evaluator = EngineEvaluator("ketamine-home")
    evaluator.on_session(_session())
    assert [s for s, _ in _feed(evaluator, "S-1", _hr(0, 140)).pending] == ["S-1"]
    assert _feed(evaluator, "S-1", _hr(1, 80)).pending == (("S-1", None),)
    _feed(evaluator, "S-1", _hr(2, 140))
    ended = evaluator.on_session(_session(ended=T0 + 10))
    assert ended.pending == (("S-1", None),)


_values = st.lists(
    st.tuples(st.sampled_from(["hr", "spo2", "cuff"]), st.sampled_from([30.0, 70.0, 95.0, 150.0])),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(_values, st.integers(1, 7))
def test_plain_readings_decide_the_same_from_columns_as_from_readings(
    values: list[tuple[str, float]], per_message: int
) -> None:
    by_columns, by_readings = EngineEvaluator("peer-compat"), EngineEvaluator("peer-compat")
    readings = [
        Reading(seq=i, t=T0 + i, values={metric: value}) for i, (metric, value) in enumerate(values)
    ]
    for start in range(0, len(readings), per_message):
        batch = _batch("S-1", *readings[start : start + per_message])
        assert by_columns.on_live([_live(batch)]) == by_readings.on_live(
            [(batch, batch.readings, None)]
        )


def test_a_restart_before_the_dose_asks_for_the_window_its_baseline_still_needs() -> None:
    now = T0 + 900
    restarted = EngineEvaluator()
    restarted.restore([], [])
    restarted.on_session(_session(session="S-1", dose_time=T0 + 1200))  # dose ahead
    restarted.on_session(_session(session="S-2", dose_time=T0 + 600))  # due while we were down
    restarted.on_session(_session(session="S-3"))  # no dose time yet
    restarted.on_session(_session(session="S-4", profile="peer-compat"))  # takes no baseline
    window, metrics = 1800.0, ("dbp", "hr", "sbp")  # ketamine-home: 30 min; rise and gate
    assert restarted.history_requests(now) == [
        HistoryRequest("S-1", metrics, T0 + 1200 - window, now),
        HistoryRequest("S-2", metrics, T0 + 600 - window, T0 + 600),
        HistoryRequest("S-3", metrics, now - window, now),
    ]
    restarted.advance(T0 + 601)  # S-2's dose is marked: it needs nothing more
    assert [r.session for r in restarted.history_requests(now)] == ["S-1", "S-3"]


def test_readings_read_back_after_a_restart_make_the_uninterrupted_baseline() -> None:
    dosed = _session(devices=["bp-1"], dose_time=T0 + 600)
    restarted = EngineEvaluator()
    restarted.restore([], [])
    restarted.on_session(dosed)
    stored = [
        StoredValue("sbp", T0 + 100, 118.0, None, ()),
        StoredValue("dbp", T0 + 100, 78.0, None, ()),
        StoredValue("sbp", T0 + 400, 122.0, None, ()),
        StoredValue("sbp", T0 + 450, 190.0, None, ("cuff_loose",)),  # gated: left out
        StoredValue("cuff_pressure", T0 + 400, 40.0, None, ()),  # stored only
        StoredValue("spo2", T0 + 400, 97.0, True, ()),  # no baseline of SpO2
    ]
    assert restarted.restore_history("S-1", stored) == 3
    assert restarted.restore_history("S-9", stored) == 0  # not a session of ours
    ((_, baseline),) = restarted.advance(T0 + 601).baselines
    assert baseline is not None
    assert baseline.values == {"sbp": 120.0, "dbp": 78.0}
    surge = _cuff("S-1", _bp(2, 165, T0 + 2400))
    assert _rises(restarted.on_live([_live(surge)])) == ["sbp_rise"]


def test_a_reopened_session_counts_data_gaps_from_the_restart() -> None:
    now = T0 + 3600  # an hour into the session; the cuff read 5 minutes ago
    restarted = EngineEvaluator()
    restarted.restore([], [])
    restarted.reopen(_session(devices=["bp-1", "oxi-1"]), now)
    assert restarted.advance(now + 1).events == ()  # not "every metric stale" at once

    def stale(at: float) -> list[str]:
        return sorted(e.rule for e in restarted.advance(at).events if e.kind == "raised")

    assert stale(now + 30) == ["stale_pr", "stale_spo2"]  # 30 s without a reading since
    assert stale(now + 1200) == ["stale_sbp"]

    # A session that is new to a running processor counts from its start, as before.
    live = EngineEvaluator()
    live.on_session(_session(devices=["bp-1", "oxi-1"]))
    assert "stale_sbp" in [e.rule for e in live.advance(now).events]


def test_a_device_state_waiting_out_its_delay_resumes_from_its_retained_report() -> None:
    # device_disconnected: 30 s. The retained status carries its own time, so a restart
    # 10 s into the delay raises at the same second an uninterrupted processor would.
    restarted = EngineEvaluator()
    restarted.restore([], [])
    restarted.reopen(_session(devices=["hr-1"]), T0 + 10)
    status = DeviceStatus(
        gateway="gw-1", session="S-1", device="hr-1", kind="hr_strap", state="disconnected", t=T0
    )
    assert restarted.on_status(status).events == ()
    assert restarted.advance(T0 + 29).events == ()
    (raised,) = restarted.advance(T0 + 30).events
    assert (raised.rule, raised.onset, raised.t) == ("device_disconnected", T0, T0 + 30)


def test_a_restart_asks_for_last_seen_times_over_the_longest_stale_window() -> None:
    now = T0 + 3600
    restarted = EngineEvaluator()
    restarted.restore([], [])
    assert restarted.last_seen_request(now) is None  # no session, nothing to ask
    restarted.reopen(_session(devices=["bp-1", "oxi-1"]), now)
    assert restarted.last_seen_request(now) == (("pr", "sbp", "spo2"), now - 1200)


def test_last_seen_times_read_back_make_the_deadman_exact_after_the_grace() -> None:
    now = T0 + 3600
    restarted = EngineEvaluator()
    restarted.restore([], [])
    restarted.reopen(_session(devices=["bp-1", "oxi-1"]), now)
    seen = {
        ("S-1", "sbp"): now - 1100,  # the cuff's next cycle never came
        ("S-1", "spo2"): now - 2,
        ("S-1", "pr"): now - 2,
        ("S-1", "cuff_pressure"): now - 1100,  # stored only: ignored
        ("S-9", "sbp"): now - 5000,  # not a session of this instance
    }
    assert restarted.restore_last_seen(seen, not_before=now + 30) == 1

    def raised(at: float) -> list[tuple[str, float]]:
        return [(e.rule, e.onset) for e in restarted.advance(at).events if e.kind == "raised"]

    assert raised(now + 29) == []
    assert raised(now + 30) == [("stale_spo2", now + 30), ("stale_pr", now + 30)]  # the grace
    assert raised(now + 100) == [("stale_sbp", now + 100)]  # not at now + 1200


def test_a_restart_refills_the_rate_windows_from_the_readings_read_back() -> None:
    now = T0 + 3600
    restarted = EngineEvaluator()
    restarted.restore([], [])
    assert restarted.rates_request(now) is None  # no session, nothing to ask
    restarted.reopen(_session(devices=["oxi-1"]), now)
    assert restarted.rates_request(now) == HistoryRequest(None, ("spo2",), now - 60, now)
    stored = {
        "S-1": [StoredValue("spo2", now - 20 + i, 98.0, True, ()) for i in range(20)],
        "S-9": [StoredValue("spo2", now - 5, 99.0, True, ())],  # not a session of ours
    }
    assert restarted.restore_rates(stored) == 20
    oximeter = ReadingBatch(
        gateway="gw-1", session="S-1", device="oxi-1", kind="pulse_oximeter",
        readings=[Reading(seq=1, t=now + 1, values={"spo2": 93.0}, contact=True)],
    )  # fmt: skip
    fall = restarted.on_live([_live(oximeter)])
    assert [(e.kind, e.rule) for e in fall.events] == [("raised", "spo2_falling")]
