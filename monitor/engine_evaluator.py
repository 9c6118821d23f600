"""The alarm engine (`alerts.engine`) behind the processor's `Evaluator` protocol.

Translates wire messages into engine inputs and engine events back into wire payloads, keeps
the retained alarm state of each open episode, opens each session with its profile and
overrides, marks the dose when its time comes, and restores open alarms after a restart.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import msgspec

from alerts import engine
from alerts.errors import AlertsError
from alerts.profiles import METRIC_CODES, Metric, Profile, apply_overrides, bundled_profile
from monitor.clock import Clock, SystemClock
from monitor.columns import Columns
from monitor.evaluation import (
    NO_DECISIONS,
    Decisions,
    HistoryRequest,
    Live,
    StateChange,
    StoredValue,
)
from vigil.wire import (
    AlarmEvent,
    AlarmState,
    Command,
    CommandResult,
    DeviceStatus,
    GatewayEvent,
    GatewayStatus,
    Reading,
    SessionBaseline,
    SessionDescriptor,
    SessionPending,
)
from vigil.wire.payloads import Priority as WirePriority

log = logging.getLogger(__name__)

DEFAULT_PROFILE = "ketamine-home"
PROFILE_CACHE_SIZE = 256
_OVERRIDES_KEY = msgspec.json.Encoder(order="sorted").encode
_NO_STATE_KINDS = frozenset({engine.EventKind.ADVISORY})
# Wire metrics the engine judges; the others (cuff pressure, fast/slow averages) are stored only.
_ENGINE_CODES: dict[str, int] = {m.value: code for m, code in METRIC_CODES.items()}


def _bits(reading: Reading) -> int:
    if reading.contact is not False and not reading.flags:
        return 0  # the common case, without the call
    return engine.flag_bits(reading.contact, reading.flags)


def _add_columns(builder: engine.BatchBuilder, session: str, device: str, columns: Columns) -> None:
    codes = [_ENGINE_CODES.get(metric, -1) for metric in columns.metrics]
    values, times, seqs = columns.values, columns.times, columns.seqs
    if -1 in codes:  # some metrics are stored only (cuff pressure, fast/slow averages)
        judged = [i for i, code in enumerate(codes) if code >= 0]
        codes = [codes[i] for i in judged]
        values, times, seqs = (
            [values[i] for i in judged],
            [times[i] for i in judged],
            [seqs[i] for i in judged],
        )
    builder.add_columns(session, device, codes=codes, values=values, ts=times, seqs=seqs)


@dataclass(slots=True)
class _Episode:
    """What the wire state of an open alarm needs that the engine's view does not carry."""

    rule: str
    priority: str
    message: str
    onset: float
    acknowledged_by: str | None = None
    escalated: bool = False


@dataclass(slots=True)
class _SessionInfo:
    started: float = -math.inf
    dose_time: float | None = None
    dosed: bool = False
    devices: set[str] = field(default_factory=set)

    def dose_due(self, now: float) -> bool:
        return not self.dosed and self.dose_time is not None and now >= self.dose_time


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


class EngineEvaluator:
    def __init__(
        self, default_profile: str = DEFAULT_PROFILE, *, clock: Clock | None = None
    ) -> None:
        # The clock dates what carries no time of its own: a gateway's last will.
        self._clock = clock or SystemClock()
        self._default = bundled_profile(default_profile)
        self._engine = engine.AlarmEngine(self._default)
        self._sessions: dict[str, _SessionInfo] = {}
        # Sessions with a dose time not yet marked: the tick looks at these, not all.
        self._undosed: dict[str, _SessionInfo] = {}
        self._episodes: dict[str, _Episode] = {}
        self._restored: dict[str, list[AlarmState]] = {}
        self._gateways: dict[str, set[str]] = {}  # gateway -> sessions it serves
        self._profiles: dict[tuple[str, bytes], Profile] = {}
        self._restored_baselines: dict[str, SessionBaseline] = {}
        self._restored_pending: dict[str, SessionPending] = {}
        self._fixed: list[tuple[str, SessionBaseline | None]] = []  # not yet in Decisions

    # ---------------------------------------------------------------- sessions and restore

    def restore(
        self,
        states: Sequence[AlarmState],
        baselines: Sequence[SessionBaseline] = (),
        pending: Sequence[SessionPending] = (),
    ) -> None:
        for state in states:
            self._restored.setdefault(state.session, []).append(state)
        for baseline in baselines:
            self._restored_baselines[baseline.session] = baseline
        for delays in pending:
            self._restored_pending[delays.session] = delays

    def _profile(self, descriptor: SessionDescriptor) -> Profile:
        # One Profile object per (profile, overrides): parsing and validating one costs ~2 ms,
        # and the engine compiles each distinct object once for all the sessions sharing it.
        key = (descriptor.profile, _OVERRIDES_KEY(descriptor.overrides))
        profile = self._profiles.get(key)
        if profile is None:
            profile = self._profiles[key] = self._build_profile(descriptor)
            if len(self._profiles) > PROFILE_CACHE_SIZE:
                del self._profiles[next(iter(self._profiles))]
        return profile

    def _build_profile(self, descriptor: SessionDescriptor) -> Profile:
        try:
            profile = bundled_profile(descriptor.profile)
        except AlertsError:
            log.error(  # noqa: TRY400 - the message is the whole story; no traceback
                "session %s: unknown profile %r, using %s",
                descriptor.session,
                descriptor.profile,
                self._default.name,
            )
            profile = self._default
        if not descriptor.overrides:
            return profile
        try:
            return apply_overrides(profile, {"rules": descriptor.overrides})
        except AlertsError as err:
            # The session still gets alarms, with the profile's own limits: say so loudly.
            log.error(  # noqa: TRY400 - the error text is in the message
                "session %s: overrides refused (%s); profile limits apply",
                descriptor.session,
                err,
            )
            return profile

    def _open(self, session: str, t: float, profile: Profile | None = None) -> _SessionInfo:
        info = self._sessions.get(session)
        if info is None:
            info = self._sessions[session] = _SessionInfo()
            self._engine.open_session(session, started_t=t, profile=profile)
            for state in self._restored.pop(session, []):
                self._restore_one(state)
            baseline = self._restored_baselines.pop(session, None)
            if baseline is not None:
                values = {Metric(k): v for k, v in baseline.values.items() if k in _ENGINE_CODES}
                self._engine.restore_dose(session, baseline.dose_time, values)
                info.dose_time, info.dosed = baseline.dose_time, True
            delays = self._restored_pending.pop(session, None)
            if delays is not None:
                resumed = self._engine.restore_pending(session, delays.pending)
                if len(resumed) < len(delays.pending):
                    log.warning(
                        "session %s: %d of %d running delays could not be resumed",
                        session,
                        len(delays.pending) - len(resumed),
                        len(delays.pending),
                    )
        return info

    def _widest(self, windows_of: Callable[[str], dict[Metric, float]]) -> dict[str, float]:
        """Wire metric -> the widest of the open sessions' windows on it."""
        widest: dict[str, float] = {}
        for session in self._sessions:
            for metric, window_s in windows_of(session).items():
                widest[metric.value] = max(window_s, widest.get(metric.value, 0.0))
        return widest

    def last_seen_request(self, now: float) -> tuple[tuple[str, ...], float] | None:
        windows = self._widest(self._engine.watched)
        if not windows:
            return None
        return tuple(sorted(windows)), now - max(windows.values())

    def restore_last_seen(self, seen: Mapping[tuple[str, str], float], not_before: float) -> int:
        by_session: dict[str, dict[Metric, float]] = {}
        for (session, metric), t in seen.items():
            if session in self._sessions and metric in _ENGINE_CODES:
                by_session.setdefault(session, {})[Metric(metric)] = t
        for session, info in self._sessions.items():
            self._engine.restore_last_seen(
                session,
                by_session.get(session, {}),
                started_t=info.started,
                not_before=not_before,
            )
        return len(by_session)

    def rates_request(self, now: float) -> HistoryRequest | None:
        windows = self._widest(self._engine.rate_windows)
        if not windows:
            return None
        return HistoryRequest(None, tuple(sorted(windows)), now - max(windows.values()), now)

    def restore_rates(self, values: Mapping[str, Sequence[StoredValue]]) -> int:
        return sum(
            self._engine.restore_rates(session, self._rows(stored))
            for session, stored in values.items()
            if session in self._sessions
        )

    @staticmethod
    def _rows(values: Sequence[StoredValue]) -> list[tuple[Metric, float, float, int]]:
        return [
            (Metric(v.metric), v.t, v.value, engine.flag_bits(v.contact, v.flags))
            for v in values
            if v.metric in _ENGINE_CODES
        ]

    def history_requests(self, now: float) -> list[HistoryRequest]:
        requests = []
        for session, info in self._sessions.items():
            needed = self._engine.collecting(session)
            if needed is None:
                continue
            metrics, window_s = needed
            # The baseline is fixed over [dose - window, dose); before the dose time is known,
            # the window ending now holds what it may need.
            dose = info.dose_time if info.dose_time is not None else now
            start, stop = dose - window_s, min(dose, now)
            if start < stop:
                requests.append(
                    HistoryRequest(session, tuple(sorted(m.value for m in metrics)), start, stop)
                )
        return requests

    def restore_history(self, session: str, values: Sequence[StoredValue]) -> int:
        if session not in self._sessions:
            return 0
        return self._engine.restore_collected(session, self._rows(values))

    def _restore_one(self, state: AlarmState) -> None:
        acknowledged = state.state == "acknowledged"
        restored = engine.RestoredAlarm(
            session_id=state.session,
            alarm_id=state.alarm_id,
            onset_t=state.onset,
            condition_present=state.state != "latched",
            acknowledged=acknowledged,
            ack_until=state.until if acknowledged else None,
            escalated=state.escalated,
        )
        if self._engine.restore(restored):
            self._episodes[state.alarm_id] = _Episode(
                rule=state.rule,
                priority=state.priority,
                message=state.message,
                onset=state.onset,
                acknowledged_by=state.acknowledged_by,
                escalated=state.escalated,
            )
        else:
            log.warning("session %s: alarm %s could not be restored", state.session, state.alarm_id)

    def on_session(self, session: SessionDescriptor) -> Decisions:
        return self._on_session(session, session.started)

    def reopen(self, session: SessionDescriptor, now: float) -> Decisions:
        # When each metric was last seen before the restart is not known: counting the deadman
        # from the session's start would call every metric stale at the first tick (a cuff
        # read 5 minutes ago, in a session an hour old) until its next reading.
        return self._on_session(session, max(session.started, now))

    def _on_session(self, session: SessionDescriptor, watched_from: float) -> Decisions:
        if session.ended is not None:
            return self._end(session.session)
        info = self._open(session.session, watched_from, self._profile(session))
        info.started = session.started
        info.devices.update(session.devices)
        if session.dose_time != info.dose_time and not info.dosed:
            info.dose_time = session.dose_time
            if info.dose_time is None:
                self._undosed.pop(session.session, None)
            else:
                self._undosed[session.session] = info
        return NO_DECISIONS

    def _end(self, session: str) -> Decisions:
        if session not in self._sessions:
            return NO_DECISIONS
        info = self._sessions.pop(session)
        self._undosed.pop(session, None)
        open_ids = [a.alarm_id for a in self._engine.open_alarms(session)]
        self._engine.close_session(session)
        for alarm_id in open_ids:
            self._episodes.pop(alarm_id, None)
        return Decisions(
            states=tuple(StateChange(session, a, None) for a in open_ids),
            baselines=((session, None),) if info.dosed else (),
            pending=((session, None),),
        )

    def _mark_dose(self, session: str, info: _SessionInfo, now: float) -> list[engine.AlarmEvent]:
        """The dose is due: fix the baselines (the engine) and publish them (retained)."""
        assert info.dose_time is not None  # only called when `info.dose_due(now)`
        info.dosed = True
        del self._undosed[session]
        events = self._engine.on_dose(engine.DoseAdministered(session_id=session, t=info.dose_time))
        fixed = SessionBaseline(
            session=session,
            dose_time=info.dose_time,
            values={m.value: v for m, v in self._engine.baselines(session).items()},
            t=now,
        )
        self._fixed.append((session, fixed))
        return list(events)

    # ---------------------------------------------------------------- inputs

    def on_live(self, groups: Sequence[Live]) -> Decisions:
        out: list[engine.AlarmEvent] = []
        builder = engine.BatchBuilder()
        for batch, live, columns in groups:
            if not live:
                continue
            session, device, t = batch.session, batch.device, live[0].t
            info = self._open(session, t)
            # Only this session's dose: scanning every session per message cost a quarter of
            # the processor's time (profiled); `advance` marks the rest each tick.
            if info.dose_due(t):
                # The rows before this one belong before the dose (baselines are fixed by it).
                out += self._engine.on_rows(builder)
                builder = engine.BatchBuilder()
                out += self._mark_dose(session, info, t)
            if columns is not None:
                _add_columns(builder, session, device, columns)
                continue
            builder.add_rows(
                session,
                device,
                [
                    (code, value, reading.t, reading.seq, bits)
                    for reading in live
                    for bits in (_bits(reading),)
                    for name, value in reading.values.items()
                    if (code := _ENGINE_CODES.get(name)) is not None
                ],
            )
        # One batch for every message of a socket read: the engine vectorises from 64 rows.
        out += self._engine.on_rows(builder)
        return self._decide(out)

    def on_status(self, status: DeviceStatus) -> Decisions:
        self._open(status.session, status.t).devices.add(status.device)
        self._gateways.setdefault(status.gateway, set()).add(status.session)
        connected = {"connected": True, "disconnected": False}.get(status.state)
        if status.kind == "bp_cuff" and connected is False:
            # Cuffs connect, indicate and disconnect by design: between cycles is not a fault.
            # A cuff that stops measuring is caught by the stale-data rule on sbp instead.
            connected = None
        return self._decide(
            self._engine.on_device_status(
                engine.DeviceStatus(
                    session_id=status.session,
                    device_id=status.device,
                    t=status.t,
                    connected=connected,
                    battery_pct=status.battery_pct,
                )
            )
        )

    def _per_session_of(
        self, gateway: str, make: Callable[[str], engine.GatewayStatus]
    ) -> Decisions:
        out: list[engine.AlarmEvent] = []
        for session in sorted(self._gateways.get(gateway, ())):
            if session in self._sessions:
                out += self._engine.on_gateway_status(make(session))
        return self._decide(out)

    def on_gateway_status(self, status: GatewayStatus) -> Decisions:
        t = status.t if status.t is not None else self._clock.now()
        return self._per_session_of(
            status.gateway,
            lambda s: engine.GatewayStatus(
                session_id=s, gateway_id=status.gateway, t=t, online=status.state == "online"
            ),
        )

    def on_gateway_event(self, event: GatewayEvent) -> Decisions:
        return self._per_session_of(
            event.gateway,
            lambda s: engine.GatewayStatus(
                session_id=s,
                gateway_id=event.gateway,
                t=event.t,
                outbox_overflow=event.event == "outbox_overflow",
            ),
        )

    def on_command(self, command: Command) -> Decisions:
        base = {
            "session_id": command.session,
            "alarm_id": command.alarm_id,
            "by": command.by,
            "t": command.t,
        }
        if command.action == "note":
            return Decisions(results=(self._result(command, accepted=True),))
        if command.session not in self._sessions:
            return Decisions(
                results=(self._result(command, accepted=False, reason="unknown_alarm"),)
            )
        request: engine.Command
        if command.action == "acknowledge":
            request = engine.Acknowledge(**base, duration_s=command.duration_s)  # type: ignore[arg-type]
        elif command.action == "audio_pause":
            request = engine.PauseAudio(**base, duration_s=command.duration_s)  # type: ignore[arg-type]
        else:
            request = engine.Escalate(**base)  # type: ignore[arg-type]
        outcome = self._engine.on_command(request)
        if isinstance(outcome, engine.CommandRejected):
            return Decisions(
                results=(self._result(command, accepted=False, reason=str(outcome.reason)),)
            )
        decided = self._decide(list(outcome.events))
        return Decisions(
            events=decided.events,
            states=decided.states,
            results=(self._result(command, accepted=True),),
        )

    @staticmethod
    def _result(command: Command, *, accepted: bool, reason: str | None = None) -> CommandResult:
        return CommandResult(
            session=command.session,
            alarm_id=command.alarm_id,
            action=command.action,
            by=command.by,
            t=command.t,
            accepted=accepted,
            reason=reason,
            request_id=command.request_id,
        )

    def advance(self, now: float) -> Decisions:
        out: list[engine.AlarmEvent] = []
        for session, info in [*self._undosed.items()]:
            if info.dose_due(now):
                out += self._mark_dose(session, info, now)
        out += self._engine.advance(now)
        return self._decide(out)

    # ---------------------------------------------------------------- outputs

    def _decide(self, events: Iterable[engine.AlarmEvent]) -> Decisions:
        wire: list[AlarmEvent] = []
        touched: dict[str, str] = {}  # alarm id -> session, in first-touched order
        for event in events:
            wire.append(self._wire_event(event))
            if event.kind in _NO_STATE_KINDS:
                continue
            episode = self._episodes.get(event.alarm_id)
            if episode is None:
                episode = self._episodes[event.alarm_id] = _Episode(
                    rule=event.rule_id,
                    priority=event.priority,
                    message=event.message,
                    onset=event.onset_t,
                )
            if event.kind is engine.EventKind.ACKNOWLEDGED:
                episode.acknowledged_by = event.actor
            elif event.kind is engine.EventKind.ESCALATED:
                episode.escalated = True
            touched.setdefault(event.alarm_id, event.session_id)
        fixed, self._fixed = tuple(self._fixed), []
        pending = self._pending()
        if not wire:
            return Decisions(baselines=fixed, pending=pending) if fixed or pending else NO_DECISIONS
        return Decisions(
            events=tuple(wire),
            states=tuple(self._states(touched, wire[-1].t)),
            baselines=fixed,
            pending=pending,
        )

    def _pending(self) -> tuple[tuple[str, SessionPending | None], ...]:
        changes = self._engine.pending_changes()
        if not changes:
            return ()
        now = self._clock.now()
        return tuple(
            (session, SessionPending(session=session, pending=delays, t=now) if delays else None)
            for session, delays in changes
        )

    def _states(self, touched: dict[str, str], t: float) -> Iterable[StateChange]:
        for alarm_id, session in touched.items():
            view = self._engine.open_alarm(session, alarm_id)
            if view is None:
                self._episodes.pop(alarm_id, None)
                yield StateChange(session, alarm_id, None)
                continue
            episode = self._episodes[alarm_id]
            paused = view.audio_paused_until is not None and view.audio_paused_until > t
            state = (
                "acknowledged"
                if view.acknowledged
                else "audio_paused"
                if paused
                else "active"
                if view.condition_present
                else "latched"
            )
            until = (
                view.ack_until if view.acknowledged else view.audio_paused_until if paused else None
            )
            yield StateChange(
                session,
                alarm_id,
                AlarmState(
                    session=session,
                    alarm_id=alarm_id,
                    rule=episode.rule,
                    priority=cast("WirePriority", episode.priority),
                    state=state,
                    message=episode.message,
                    onset=view.onset_t,
                    t=t,
                    acknowledged_by=episode.acknowledged_by if view.acknowledged else None,
                    until=until,
                    escalated=episode.escalated,
                ),
            )

    @staticmethod
    def _wire_event(event: engine.AlarmEvent) -> AlarmEvent:
        reading = event.reading
        return AlarmEvent(
            event_id=event.event_id,
            session=event.session_id,
            alarm_id=event.alarm_id,
            kind=str(event.kind),
            priority=cast("WirePriority", str(event.priority)),
            rule=event.rule_id,
            message=event.message,
            t=event.t,
            onset=event.onset_t,
            subject=event.subject,
            metric=event.metric,
            value=_finite(event.value),
            threshold=_finite(event.threshold),
            device=reading.device_id if reading else None,
            seq=reading.seq if reading else None,
            source_t=reading.t if reading else None,
            by=event.actor,
        )
