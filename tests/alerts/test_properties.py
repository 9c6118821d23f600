"""Property tests: invariants of the event stream, batch path == scalar path, replays."""

import itertools
import math
import re

from alerts_testkit import T0, Tick, apply_step, ketamine, peer_profile, reading
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.engine import (
    Acknowledge,
    AlarmEngine,
    BatchBuilder,
    CommandAccepted,
    DeviceStatus,
    DoseAdministered,
    Escalate,
    EventKind,
    GatewayStatus,
    PauseAudio,
    Reading,
    ReadingBatch,
)
from alerts.profiles import apply_overrides

WIRE_ALARM_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}")
SESSIONS = ("A", "B", "C")
DEVICES = ("d1", "d2")
RANGES = {
    "hr": (30, 150),
    "spo2": (80, 100),
    "pr": (30, 150),
    "sbp": (80, 230),
    "dbp": (50, 130),
    "map": (60, 140),
}
FLAGS = (
    "body_movement",
    "plx_invalid",
    "cuff_loose",
    "sensor_disconnected",
    "low_perfusion",
    "junk",
)

value_for = {
    m: st.one_of(st.integers(lo, hi).map(float), st.just(math.nan))
    for m, (lo, hi) in RANGES.items()
}


SESSION = st.sampled_from(SESSIONS)
DEVICE = st.sampled_from(DEVICES)
METRIC_SETS = st.lists(st.sampled_from(list(RANGES)), min_size=1, max_size=3, unique=True)
CONTACT = st.sampled_from([None, None, None, True, False])
FLAG_SETS = st.one_of(
    st.just(()), st.just(()), st.just(()), st.lists(st.sampled_from(FLAGS), max_size=2)
)
HISTORICAL = st.integers(0, 15).map(lambda n: n == 0)
STEP_DT = st.sampled_from([0, 0.5, 1, 1, 1, 2, 5, 15, 40])
STEP_KIND = st.integers(0, 30)


@st.composite
def readings_step(draw, t):
    metrics = draw(METRIC_SETS)
    return reading(
        t,
        {m: draw(value_for[m]) for m in metrics},
        session=draw(SESSION),
        device=draw(DEVICE),
        seq=draw(st.integers(0, 10_000)),
        contact=draw(CONTACT),
        flags=draw(FLAG_SETS),
        historical=draw(HISTORICAL),
    )


@st.composite
def scripts(draw, *, max_size=120):
    """Inputs in time order: mostly readings, some ticks, states, doses and commands."""
    t = T0
    script = []
    for _ in range(draw(st.integers(1, max_size))):
        t += draw(STEP_DT)
        kind = draw(STEP_KIND)
        session = draw(SESSION)
        if kind <= 24:
            script.append(draw(readings_step(t)))
        elif kind <= 26:
            script.append(Tick(t))
        elif kind == 27:
            script.append(
                DeviceStatus(
                    session_id=session,
                    device_id=draw(DEVICE),
                    t=t,
                    connected=draw(st.sampled_from([None, True, False])),
                    battery_pct=draw(st.sampled_from([None, 10.0, 22.0, 30.0, math.nan])),
                )
            )
        elif kind == 28:
            script.append(
                GatewayStatus(
                    session_id=session,
                    gateway_id="gw",
                    t=t,
                    online=draw(st.sampled_from([None, True, False])),
                    outbox_overflow=draw(st.sampled_from([None, True, False])),
                )
            )
        elif kind == 29:
            script.append(DoseAdministered(session_id=session, t=t))
        else:
            command = draw(st.sampled_from([Acknowledge, PauseAudio, Escalate]))
            script.append(("command", command, session, draw(st.integers(0, 3)), t))
    return script


def profile_choices():
    return st.sampled_from(
        [
            ketamine(),
            apply_overrides(
                ketamine(),
                {
                    "technical": {"stale": {"metrics": ["hr", "spo2", "sbp"]}},
                    "escalation": {"low": 30},
                    "inactivation": {"acknowledge_s": 20, "audio_pause_s": 10},
                },
            ),
            apply_overrides(
                ketamine(),
                {
                    "rules": {
                        "sbp_drop": {
                            "kind": "rise",
                            "metric": "sbp",
                            "comparison": "below",
                            "limit": -30,
                            "reset": -20,
                            "delay_s": 2,
                            "priority": "high",
                            "latching": True,
                        }
                    },
                    "baseline": {"min_readings": 2, "window_s": 60},
                },
            ),
            apply_overrides(
                ketamine(),
                {"rules": {"spo2_falling": {"direction": "rising", "window_s": 20}}},
            ),
            peer_profile(0),
            peer_profile(3),
        ]
    )


def command_result(engine, step):
    """Commands target the n-th open alarm of the session at that moment."""
    _, command, session, n, t = step
    alarm_id = f"{session}:none:0"
    if engine.is_open(session):
        open_alarms = engine.open_alarms(session)
        if open_alarms:
            alarm_id = open_alarms[n % len(open_alarms)].alarm_id
    return engine.on_command(command(session_id=session, alarm_id=alarm_id, by="x", t=t))


def run(engine, script, chunks=None):
    """Run a script; with `chunks`, readings go through the batch path in chunks of those
    sizes (then 4), alternately as a built `ReadingBatch` and straight from a `BatchBuilder`.
    Returns events and command results in order."""
    out = []
    pending: list[Reading] = []
    sizes = iter(chunks or ())
    turns = itertools.count()

    def flush():
        while pending:
            size = next(sizes, 4)
            batch, pending[:] = pending[:size], pending[size:]
            if next(turns) % 2:
                builder = BatchBuilder()
                for reading in batch:
                    builder.add_reading(reading)
                out.extend(engine.on_rows(builder))
            else:
                out.extend(engine.on_batch(ReadingBatch.from_readings(batch)))

    for step in script:
        if isinstance(step, Reading):
            if chunks is None:
                out.extend(engine.on_reading(step))
            else:
                pending.append(step)
            continue
        flush()
        if isinstance(step, tuple):
            out.append(command_result(engine, step))
        else:
            out.extend(apply_step(engine, step))
    flush()
    return out


VECTOR_MIN_ROWS = st.sampled_from([0, 0, 0, 8, 64])
SLOW = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(
    profile=profile_choices(), script=scripts(), chunks=st.lists(st.integers(1, 40), max_size=30)
)
def test_batch_path_gives_exactly_the_scalar_events(profile, script, chunks):
    scalar = run(AlarmEngine(profile), script)
    batched = run(AlarmEngine(profile), script, chunks)
    assert batched == scalar


@SLOW
@given(profile=profile_choices(), script=scripts())
def test_replay_gives_the_same_events_and_ids(profile, script):
    assert run(AlarmEngine(profile), script) == run(AlarmEngine(profile), script)


@SLOW
@given(
    profile=profile_choices(), script=scripts(), chunks=st.lists(st.integers(1, 40), max_size=30)
)
def test_the_tick_visits_every_session_by_its_next_timer(profile, script, chunks):
    """`advance` skips sessions whose next timer is later; a session kept too late would
    miss its expiries or escalations. Also: the events equal those of visiting every
    session with anything to time at every tick (what `advance` did before)."""
    engine, reference = AlarmEngine(profile), AlarmEngine(profile)
    for step in script:
        if isinstance(step, Tick):
            for slot, session in reference._by_slot.items():
                if session.needs_tick:
                    reference._ticking[slot] = -math.inf
        assert run(engine, [step], chunks) == run(reference, [step], chunks)
        for slot, session in engine._by_slot.items():
            if session.needs_tick:
                assert engine._ticking.get(slot, math.inf) <= session.next_due()


def latching_of(profile):
    table = {rule.rule_id: rule.latching for rule in profile.rules}
    table |= {gate.gate_id: gate.latching for gate in profile.gates}
    tech = profile.technical
    for alarm in (tech.device_disconnected, tech.gateway_offline, tech.outbox_overflow):
        table[alarm.name] = alarm.latching
    table["battery_low"] = tech.battery_low.latching
    return table


@SLOW
@given(profile=profile_choices(), script=scripts())
def test_event_stream_invariants(profile, script):
    latching = latching_of(profile)
    history: dict[str, list] = {}
    for item in run(AlarmEngine(profile), script):
        events = item.events if isinstance(item, CommandAccepted) else (item,)
        for event in events:
            if not hasattr(event, "alarm_id") or not hasattr(event, "kind"):
                continue
            history.setdefault(event.alarm_id, []).append(event)
    for alarm_id, events in history.items():
        # One MQTT topic level, as the wire contract (docs/mqtt.md) requires of alarm ids.
        assert WIRE_ALARM_ID.fullmatch(alarm_id), alarm_id
        kinds = [e.kind for e in events]
        if kinds[0] is EventKind.ADVISORY:
            assert kinds == [EventKind.ADVISORY]
            continue
        # Every episode starts with a raise, has one raise, and nothing follows its resolution.
        assert kinds[0] is EventKind.RAISED, (alarm_id, kinds)
        assert kinds.count(EventKind.RAISED) == 1
        assert EventKind.RESOLVED not in kinds[:-1]
        # A latched alarm never resolves by itself: only after an acknowledgement.
        rule = events[0].rule_id
        if latching.get(rule, False) and EventKind.RESOLVED in kinds:
            assert EventKind.ACKNOWLEDGED in kinds
            assert EventKind.CONDITION_CLEARED not in kinds[kinds.index(EventKind.ACKNOWLEDGED) :]
        # A non-latching alarm is never "cleared but still latched".
        if not latching.get(rule, True):
            assert EventKind.CONDITION_CLEARED not in kinds
        times = [e.t for e in events]
        assert times == sorted(times)
        assert all(e.onset_t <= e.t for e in events)
        assert len({(e.session_id, e.rule_id, e.subject, e.priority) for e in events}) == 1


# ---------------------------------------------------------------- peer reference model


def reference(profile, samples):
    """The peer bench's `reference_events`, ported: (rule, state, index) per transition."""
    out, state = [], {}
    for index, (metric, value, t) in enumerate(samples):
        for rule in profile.rules:
            if rule.metric != metric:
                continue
            active, since = state.get(rule.rule_id, (False, None))
            upward = rule.comparison == "above"
            if not active:
                if not (value > rule.limit if upward else value < rule.limit):
                    state[rule.rule_id] = (False, None)
                    continue
                since = t if since is None else since
                if t - since >= rule.delay_s:
                    out.append((rule.rule_id, "raised", index))
                    active = True
                state[rule.rule_id] = (active, since)
            elif value <= rule.reset if upward else value >= rule.reset:
                out.append((rule.rule_id, "cleared", index))
                state[rule.rule_id] = (False, None)
    return out


@settings(max_examples=300, deadline=None)
@given(
    delay=st.sampled_from([0, 1, 2.5, 10]),
    samples=st.lists(
        st.tuples(
            st.sampled_from(["hr", "spo2", "sbp", "dbp"]),
            st.integers(30, 200),
            st.sampled_from([0, 0.25, 0.5, 1, 1, 1, 3]),
        ),
        max_size=200,
    ),
)
def test_peer_rules_equal_the_reference_model(delay, samples):
    """Delays to the second: no raise before onset + delay, a raise at the first violating
    sample at or after it; clears at the reset; exactly as the peer's model."""
    profile = peer_profile(delay)
    t, timed = T0, []
    for metric, value, dt in samples:
        t += dt
        timed.append((metric, float(value), t))
    engine = AlarmEngine(profile)
    got = []
    for index, (metric, value, t) in enumerate(timed):
        for event in engine.on_reading(reading(t, {metric: value}, seq=index)):
            state = {"raised": "raised", "resolved": "cleared"}[event.kind]
            got.append((event.rule_id, state, event.reading.seq))
            if event.kind is EventKind.RAISED:
                assert event.t - event.onset_t >= delay
    assert got == reference(profile, timed)


# ---------------------------------------------------------------- acknowledgement expiry


@settings(max_examples=100, deadline=None)
@given(
    ack_s=st.integers(1, 600),
    ack_after=st.integers(0, 100),
    ticks=st.lists(st.integers(0, 1500), min_size=1, max_size=20),
)
def test_acknowledgement_expiry_re_alarms_while_the_condition_persists(ack_s, ack_after, ticks):
    profile = apply_overrides(
        ketamine(),
        {
            "inactivation": {"acknowledge_s": ack_s},
            "escalation": {"high": 10_000, "medium": 10_000},
            "technical": {"stale": {"metrics": []}},
        },
    )
    engine = AlarmEngine(profile)
    events = engine.on_reading(reading(T0, {"sbp": 230}, seq=1))
    (raised,) = [e for e in events if e.rule_id == "sbp_severe"]  # high, no delay
    ack_t = T0 + ack_after
    # A tick first: the session's next timer is then its escalation, far off; the
    # acknowledgement must bring it forward to its own expiry.
    assert engine.advance(ack_t) == ()
    result = engine.on_command(
        Acknowledge(session_id="S1", alarm_id=raised.alarm_id, by="rn", t=ack_t)
    )
    assert isinstance(result, CommandAccepted)
    expected_at = None
    seen = []
    for dt in sorted(ticks):
        now = ack_t + dt
        events = engine.advance(now)
        seen += [(e.kind, e.t) for e in events if e.alarm_id == raised.alarm_id]
        if expected_at is None and now >= ack_t + ack_s:
            expected_at = now
    if expected_at is None:
        assert seen == []
    else:
        assert seen == [(EventKind.ACK_EXPIRED, expected_at)]


NORMAL = {"hr": 75.0, "spo2": 97.0, "pr": 75.0, "sbp": 120.0, "dbp": 75.0, "map": 90.0}


@st.composite
def calm_readings(draw):
    """Mostly normal values with rare excursions: most rows take the vectorised path."""
    t = T0
    out = []
    for seq in range(draw(st.integers(1, 300))):
        t += draw(st.sampled_from([0, 0.25, 1, 1, 3]))
        metric = draw(st.sampled_from(list(RANGES)))
        lo, hi = RANGES[metric]
        excursion = draw(st.integers(0, 20)) == 0
        value = float(draw(st.integers(lo, hi))) if excursion else NORMAL[metric]
        flags = ("body_movement",) if draw(st.integers(0, 60)) == 0 else ()
        out.append(
            reading(
                t, {metric: value}, session=draw(SESSION), device=draw(DEVICE), seq=seq, flags=flags
            )
        )
    return out


@SLOW
@given(
    profile=profile_choices(),
    readings=calm_readings(),
    chunks=st.lists(st.integers(1, 120), max_size=10),
    tick_every=st.sampled_from([None, 7, 50]),
    vector_min_rows=VECTOR_MIN_ROWS,
)
def test_batch_path_equals_scalar_on_calm_data(
    profile, readings, chunks, tick_every, vector_min_rows
):
    script = []
    for index, r in enumerate(readings):
        script.append(r)
        if tick_every and index % tick_every == tick_every - 1:
            script.append(Tick(r.t))
    batched = run(AlarmEngine(profile, vector_min_rows=vector_min_rows), script, chunks)
    assert batched == run(AlarmEngine(profile), script)
