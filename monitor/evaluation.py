"""The alarm evaluation hook: what the processor asks of an alarm engine, and a trivial one.

The processor feeds an `Evaluator` the live readings (never duplicates, never historical
ones), device status, session descriptors, clinician commands and clock ticks, and carries its
`Decisions` out: events to `Topics.alarm_events(session)` and InfluxDB, and alarm state to the
retained `Topics.alarm_state(session, alarm_id)` (a `None` state clears it). On start it hands
the evaluator the retained alarm states, so a restart neither loses nor repeats an alarm.

The real engine (`alerts/engine`) is adapted behind this protocol; `ThresholdEvaluator` is a
limit-with-hysteresis evaluator for tests, benchmarks and until that adapter lands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from vigil.wire import (
    AlarmEvent,
    AlarmState,
    Command,
    CommandResult,
    DeviceStatus,
    GatewayEvent,
    GatewayStatus,
    Reading,
    ReadingBatch,
)
from vigil.wire import SessionDescriptor as Session


@dataclass(frozen=True, slots=True)
class StateChange:
    session: str
    alarm_id: str
    state: AlarmState | None  # None: the episode is over; its retained state is cleared


@dataclass(frozen=True, slots=True)
class Decisions:
    events: tuple[AlarmEvent, ...] = ()
    states: tuple[StateChange, ...] = ()
    results: tuple[CommandResult, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.events or self.states or self.results)


NO_DECISIONS = Decisions()


class Evaluator(Protocol):
    def restore(self, states: Sequence[AlarmState]) -> None:
        """The retained alarm states of this instance's sessions, before any other input."""

    def on_session(self, session: Session) -> Decisions:
        """A session started or changed (profile, dose time, overrides) or ended."""

    def on_readings(self, batch: ReadingBatch, live: Sequence[Reading]) -> Decisions:
        """New, live readings of one device (`batch` names the session, device and kind)."""

    def on_status(self, status: DeviceStatus) -> Decisions:
        """A device connected, disconnected or reported its battery."""

    def on_gateway_status(self, status: GatewayStatus) -> Decisions:
        """A gateway came online or went offline (its last will)."""

    def on_gateway_event(self, event: GatewayEvent) -> Decisions:
        """A gateway reported a technical event (outbox overflow)."""

    def on_command(self, command: Command) -> Decisions:
        """A clinician acknowledged, paused or escalated an alarm."""

    def advance(self, now: float) -> Decisions:
        """Time passed (escalations, expiries, data gaps): called every tick with clock time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ThresholdRule:
    rule: str
    metric: str
    above: bool  # True: alarm when value > limit; False: when value < limit
    limit: float
    priority: Literal["high", "medium", "low"] = "high"
    hysteresis: float = 5.0  # clears once the value is this far back inside the limit
    delay_s: float = 0.0  # the condition must hold this long, in reading time

    def violated(self, value: float) -> bool:
        return value > self.limit if self.above else value < self.limit

    def cleared(self, value: float) -> bool:
        if self.above:
            return value <= self.limit - self.hysteresis
        return value >= self.limit + self.hysteresis


# The Node-RED peer's rules (shared/peers/nodered/README.md), used by benchmarks and tests.
PEER_RULES: tuple[ThresholdRule, ...] = (
    ThresholdRule(rule="hr_high", metric="hr", above=True, limit=120),
    ThresholdRule(rule="hr_low", metric="hr", above=False, limit=45),
    ThresholdRule(rule="spo2_low", metric="spo2", above=False, limit=90),
    ThresholdRule(rule="sbp_high", metric="sbp", above=True, limit=180),
    ThresholdRule(rule="dbp_high", metric="dbp", above=True, limit=110),
    ThresholdRule(rule="sbp_elev", metric="sbp", above=True, limit=160, priority="medium"),
)


@dataclass(slots=True)
class _RuleState:
    since: float | None = None  # reading time the pending condition began
    active: AlarmState | None = None


class ThresholdEvaluator:
    """Limits with persistence and hysteresis per (session, rule); no commands, no ticks."""

    def __init__(self, rules: Sequence[ThresholdRule] = PEER_RULES) -> None:
        self._by_metric: dict[str, list[ThresholdRule]] = {}
        for rule in rules:
            self._by_metric.setdefault(rule.metric, []).append(rule)
        self._rules = {rule.rule: rule for rule in rules}
        self._state: dict[tuple[str, str], _RuleState] = {}

    def restore(self, states: Sequence[AlarmState]) -> None:
        for state in states:
            if state.rule in self._rules:
                self._state[state.session, state.rule] = _RuleState(active=state)

    def on_session(self, session: Session) -> Decisions:  # noqa: ARG002 - no per-session limits
        return NO_DECISIONS

    def on_status(self, status: DeviceStatus) -> Decisions:  # noqa: ARG002
        return NO_DECISIONS

    def on_gateway_status(self, status: GatewayStatus) -> Decisions:  # noqa: ARG002
        return NO_DECISIONS

    def on_gateway_event(self, event: GatewayEvent) -> Decisions:  # noqa: ARG002
        return NO_DECISIONS

    def on_command(self, command: Command) -> Decisions:  # noqa: ARG002
        return NO_DECISIONS

    def advance(self, now: float) -> Decisions:  # noqa: ARG002
        return NO_DECISIONS

    def on_readings(self, batch: ReadingBatch, live: Sequence[Reading]) -> Decisions:
        events: list[AlarmEvent] = []
        states: list[StateChange] = []
        for reading in live:
            for metric, value in reading.values.items():
                for rule in self._by_metric.get(metric, ()):
                    self._judge(rule, batch, reading, value, events=events, states=states)
        if not events:
            return NO_DECISIONS
        return Decisions(events=tuple(events), states=tuple(states))

    def _judge(  # noqa: PLR0913 - the hot loop's locals, passed rather than rebuilt
        self,
        rule: ThresholdRule,
        batch: ReadingBatch,
        reading: Reading,
        value: float,
        *,
        events: list[AlarmEvent],
        states: list[StateChange],
    ) -> None:
        key = (batch.session, rule.rule)
        state = self._state.get(key)
        if state is None:
            if not rule.violated(value):
                return
            state = self._state[key] = _RuleState()
        if state.active is not None:
            if rule.cleared(value):
                alarm = state.active
                state.active = None
                state.since = None
                events.append(
                    _event(
                        rule, batch, reading, value=value, alarm_id=alarm.alarm_id, kind="resolved"
                    )
                )
                states.append(StateChange(batch.session, alarm.alarm_id, None))
            return
        if not rule.violated(value):
            state.since = None
            return
        if state.since is None:
            state.since = reading.t
        if reading.t - state.since < rule.delay_s:
            return
        alarm_id = f"{rule.rule}.{batch.device}.{reading.seq}"
        event = _event(
            rule, batch, reading, value=value, alarm_id=alarm_id, kind="raised", onset=state.since
        )
        state.active = AlarmState(
            session=batch.session,
            alarm_id=alarm_id,
            rule=rule.rule,
            priority=rule.priority,
            state="active",
            message=event.message,
            onset=state.since,
            t=reading.t,
        )
        events.append(event)
        states.append(StateChange(batch.session, alarm_id, state.active))


def _event(  # noqa: PLR0913
    rule: ThresholdRule,
    batch: ReadingBatch,
    reading: Reading,
    *,
    value: float,
    alarm_id: str,
    kind: str,
    onset: float | None = None,
) -> AlarmEvent:
    op = ">" if rule.above else "<"
    return AlarmEvent(
        event_id=f"{alarm_id}.{kind}.{reading.seq}",
        session=batch.session,
        alarm_id=alarm_id,
        kind=kind,
        priority=rule.priority,
        rule=rule.rule,
        message=f"session {batch.session}: {rule.metric} {op} {rule.limit:g}: {kind}",
        t=reading.t,
        onset=onset,
        metric=rule.metric,
        value=value,
        threshold=rule.limit,
        device=batch.device,
        seq=reading.seq,
        source_t=reading.t,
    )
