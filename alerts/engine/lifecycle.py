"""The alarm state machine: one `Episode` per alarm from raise to resolution.

    (none) --condition raised--> ACTIVE ----acknowledge----> ACKNOWLEDGED
    ACTIVE --condition cleared, not latching--> RESOLVED
    ACTIVE --condition cleared, latching--> ACTIVE (condition absent: latched)
    ACTIVE (latched) --acknowledge--> RESOLVED
    ACKNOWLEDGED --condition cleared--> RESOLVED
    ACKNOWLEDGED --acknowledge_s over, condition present--> ACTIVE (ack_expired, re-alarm)
    ACTIVE --audio pause--> ACTIVE (audio paused until audio_pause_s is over)
    ACTIVE --escalation time over, unacknowledged--> ACTIVE (escalated, once per re-alarm)
    ACTIVE/ACKNOWLEDGED --escalate command--> unchanged (escalated, by the clinician)

The alarm id is ``<session>:<key>:<onset ms>``: the key is the rule id, with
``:<device or gateway>`` for per-device alarms, and the condition's onset time in epoch
milliseconds tells the episodes of one alarm apart. A replay of the same inputs gives the same
ids, and an episode after a processor restart gets a new id (a counter would restart at 1 and
reuse the id of an episode published before the restart, which consumers would then drop as a
duplicate). Wire identifiers never contain ``:``, so the parts cannot run into each other, and
the id matches the wire's alarm id pattern ``[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}``: one MQTT
topic level. An event id is ``<alarm id>.<kind>.<event time ms>``, also stable across replays
and restarts.
"""

import math
from collections import OrderedDict
from dataclasses import dataclass
from enum import Enum

from alerts.engine.events import (
    AlarmCategory,
    AlarmEvent,
    CommandAccepted,
    CommandRejected,
    CommandResult,
    EventKind,
    ReadingRef,
    RejectionReason,
)
from alerts.engine.inputs import RestoredAlarm
from alerts.engine.messages import event_message
from alerts.profiles import Metric, Priority

# Resolved alarm ids remembered per session for command rejections; older ones are "unknown".
RESOLVED_REMEMBERED = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmSpec:
    """Everything about an alarm that does not change during a session."""

    key: str  # unique in the session: the rule id, with ":subject" for per-device alarms
    rule_id: str
    category: AlarmCategory
    priority: Priority
    latching: bool
    subject: str | None
    metric: Metric | None
    summary: str
    escalate_after_s: float | None
    acknowledge_s: float
    audio_pause_s: float


class Status(Enum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAlarm:
    """A read-only view of an open episode (for dashboards and command targeting)."""

    alarm_id: str
    rule_id: str
    subject: str | None
    priority: Priority
    acknowledged: bool
    condition_present: bool
    onset_t: float
    ack_until: float | None
    audio_paused_until: float | None
    escalates_at: float | None


class Episode:
    """One alarm from its raise until it is resolved (mutable, owned by an `AlarmBook`)."""

    __slots__ = (
        "ack_until",
        "alarm_id",
        "condition_present",
        "escalate_at",
        "onset_t",
        "pause_until",
        "spec",
        "status",
        "threshold",
    )

    def __init__(
        self, spec: AlarmSpec, alarm_id: str, onset_t: float, threshold: float | None
    ) -> None:
        self.spec = spec
        self.alarm_id = alarm_id
        self.onset_t = onset_t
        self.threshold = threshold
        self.status = Status.ACTIVE
        self.condition_present = True
        self.ack_until: float | None = None
        self.pause_until: float | None = None
        self.escalate_at: float | None = None


@dataclass(frozen=True, slots=True)
class Trigger:
    """What caused a condition transition: the time, and the reading and value if any."""

    t: float
    value: float | None = None
    threshold: float | None = None
    reading: ReadingRef | None = None


def _view(episode: Episode) -> OpenAlarm:
    return OpenAlarm(
        alarm_id=episode.alarm_id,
        rule_id=episode.spec.rule_id,
        subject=episode.spec.subject,
        priority=episode.spec.priority,
        acknowledged=episode.status is Status.ACKNOWLEDGED,
        condition_present=episode.condition_present,
        onset_t=episode.onset_t,
        ack_until=episode.ack_until,
        audio_paused_until=episode.pause_until,
        escalates_at=episode.escalate_at,
    )


class AlarmBook:
    """The open alarm episodes of one session, and the ids given so far."""

    __slots__ = ("_last_ids", "_open", "_resolved", "_session_id")

    def __init__(self, session_id: str) -> None:
        self._session_id = session_id
        self._open: dict[str, Episode] = {}
        # Per key: the last episode's id base and how often it was used (two episodes of one
        # key with onsets within the same millisecond get suffixes -2, -3, ...).
        self._last_ids: dict[str, tuple[str, int]] = {}
        # Recently resolved ids, so a late command gets "already resolved", not "unknown".
        self._resolved: OrderedDict[str, None] = OrderedDict()

    @property
    def has_open(self) -> bool:
        return bool(self._open)

    def open_alarms(self) -> tuple[OpenAlarm, ...]:
        return tuple(_view(episode) for episode in self._open.values())

    def open_alarm(self, alarm_id: str) -> OpenAlarm | None:
        """One open episode by id; None once it is resolved (or if it never was)."""
        episode = self._episode(alarm_id)
        return None if episode is None else _view(episode)

    def _episode(self, alarm_id: str) -> Episode | None:
        for episode in self._open.values():  # a handful per session: no index to keep
            if episode.alarm_id == alarm_id:
                return episode
        return None

    def _event(
        self,
        episode: Episode,
        kind: EventKind,
        t: float,
        *,
        trigger: Trigger | None = None,
        actor: str | None = None,
    ) -> AlarmEvent:
        spec = episode.spec
        value = trigger.value if trigger is not None else None
        threshold = (
            trigger.threshold
            if trigger is not None and trigger.threshold is not None
            else episode.threshold
        )
        return AlarmEvent(
            event_id=f"{episode.alarm_id}.{kind}.{round(t * 1000)}",
            alarm_id=episode.alarm_id,
            kind=kind,
            session_id=self._session_id,
            rule_id=spec.rule_id,
            category=spec.category,
            priority=spec.priority,
            subject=spec.subject,
            metric=spec.metric,
            value=value,
            threshold=threshold,
            onset_t=episode.onset_t,
            t=t,
            reading=trigger.reading if trigger is not None else None,
            actor=actor,
            message=event_message(
                kind,
                session_id=self._session_id,
                rule_id=spec.rule_id,
                summary=spec.summary,
                value=value,
                actor=actor,
            ),
        )

    def _next_id(self, key: str, onset_t: float) -> str:
        base = f"{self._session_id}:{key}:{round(onset_t * 1000)}"
        last_base, uses = self._last_ids.get(key, ("", 0))
        uses = uses + 1 if base == last_base else 1
        self._last_ids[key] = (base, uses)
        return base if uses == 1 else f"{base}-{uses}"

    def _resolve(self, episode: Episode) -> None:
        del self._open[episode.spec.key]
        self._resolved[episode.alarm_id] = None
        if len(self._resolved) > RESOLVED_REMEMBERED:
            self._resolved.popitem(last=False)

    def restore(self, spec: AlarmSpec, alarm: RestoredAlarm) -> None:
        """Reopen an episode as it was before a processor restart, under its own id."""
        episode = Episode(spec, alarm.alarm_id, alarm.onset_t, None)
        episode.condition_present = alarm.condition_present
        if alarm.acknowledged:
            episode.status = Status.ACKNOWLEDGED
            episode.ack_until = -math.inf if alarm.ack_until is None else alarm.ack_until
        elif not alarm.escalated and spec.escalate_after_s is not None:
            # The raise time is not retained; the onset is at most one delay earlier.
            episode.escalate_at = alarm.onset_t + spec.escalate_after_s
        self._open[spec.key] = episode
        self._last_ids[spec.key] = (alarm.alarm_id, 1)

    def advisory(self, spec: AlarmSpec, trigger: Trigger) -> AlarmEvent:
        """A one-off notice: numbered like an episode but never open."""
        episode = Episode(spec, self._next_id(spec.key, trigger.t), trigger.t, trigger.threshold)
        return self._event(episode, EventKind.ADVISORY, trigger.t, trigger=trigger)

    def raised(
        self, spec: AlarmSpec, onset_t: float, trigger: Trigger, out: list[AlarmEvent]
    ) -> None:
        episode = self._open.get(spec.key)
        if episode is not None:
            # Only a latched episode can still be open when its condition arises again.
            episode.condition_present = True
            out.append(
                self._event(episode, EventKind.CONDITION_RETURNED, trigger.t, trigger=trigger)
            )
            return
        episode = Episode(spec, self._next_id(spec.key, onset_t), onset_t, trigger.threshold)
        if spec.escalate_after_s is not None:
            episode.escalate_at = trigger.t + spec.escalate_after_s
        self._open[spec.key] = episode
        out.append(self._event(episode, EventKind.RAISED, trigger.t, trigger=trigger))

    def cleared(self, spec: AlarmSpec, trigger: Trigger, out: list[AlarmEvent]) -> None:
        # A condition clears only after it was raised, so its episode is open.
        episode = self._open[spec.key]
        if spec.latching and episode.status is Status.ACTIVE:
            episode.condition_present = False
            out.append(
                self._event(episode, EventKind.CONDITION_CLEARED, trigger.t, trigger=trigger)
            )
            return
        self._resolve(episode)
        out.append(self._event(episode, EventKind.RESOLVED, trigger.t, trigger=trigger))

    def _find(self, alarm_id: str) -> Episode | CommandRejected:
        episode = self._episode(alarm_id)
        if episode is not None:
            return episode
        known = alarm_id in self._resolved
        if known:
            return CommandRejected(
                alarm_id=alarm_id,
                reason=RejectionReason.ALREADY_RESOLVED,
                message=f"alarm {alarm_id} is already resolved",
            )
        return CommandRejected(
            alarm_id=alarm_id,
            reason=RejectionReason.UNKNOWN_ALARM,
            message=f"no alarm {alarm_id} in session {self._session_id}",
        )

    def acknowledge(
        self, alarm_id: str, by: str, t: float, duration_s: float | None = None
    ) -> CommandResult:
        found = self._find(alarm_id)
        if isinstance(found, CommandRejected):
            return found
        duration = _duration(alarm_id, duration_s, found.spec.acknowledge_s)
        if isinstance(duration, CommandRejected):
            return duration
        events = [self._event(found, EventKind.ACKNOWLEDGED, t, actor=by)]
        if not found.condition_present:
            self._resolve(found)
            events.append(self._event(found, EventKind.RESOLVED, t, actor=by))
        else:
            found.status = Status.ACKNOWLEDGED
            found.ack_until = t + duration
            found.pause_until = None
            found.escalate_at = None
        return CommandAccepted(events=tuple(events))

    def pause_audio(
        self, alarm_id: str, by: str, t: float, duration_s: float | None = None
    ) -> CommandResult:
        found = self._find(alarm_id)
        if isinstance(found, CommandRejected):
            return found
        if found.status is Status.ACKNOWLEDGED:
            return CommandRejected(
                alarm_id=alarm_id,
                reason=RejectionReason.ALREADY_ACKNOWLEDGED,
                message=f"alarm {alarm_id} is acknowledged: its audio is already off",
            )
        duration = _duration(alarm_id, duration_s, found.spec.audio_pause_s)
        if isinstance(duration, CommandRejected):
            return duration
        found.pause_until = t + duration
        return CommandAccepted(events=(self._event(found, EventKind.AUDIO_PAUSED, t, actor=by),))

    def escalate(self, alarm_id: str, by: str, t: float) -> CommandResult:
        """A clinician's escalation: the event goes out whatever the automatic timer says."""
        found = self._find(alarm_id)
        if isinstance(found, CommandRejected):
            return found
        return CommandAccepted(events=(self._event(found, EventKind.ESCALATED, t, actor=by),))

    def next_due(self) -> float:
        """The earliest time `advance` would fire a timer (inf: none); mirrors `advance`."""
        due = math.inf
        for episode in self._open.values():
            if episode.status is Status.ACKNOWLEDGED:
                if episode.ack_until is not None:
                    due = min(due, episode.ack_until)
                continue
            if episode.pause_until is not None:
                due = min(due, episode.pause_until)
            if episode.escalate_at is not None:
                due = min(due, episode.escalate_at)
        return due

    def advance(self, now: float, out: list[AlarmEvent]) -> None:
        """Fire the timers that are due at `now` (inclusive), in the order episodes opened."""
        for episode in self._open.values():
            if episode.status is Status.ACKNOWLEDGED:
                if episode.ack_until is not None and now >= episode.ack_until:
                    # An acknowledged episode whose condition cleared is resolved, so the
                    # condition is present here: the alarm signals again.
                    episode.status = Status.ACTIVE
                    episode.ack_until = None
                    after = episode.spec.escalate_after_s
                    episode.escalate_at = None if after is None else now + after
                    out.append(self._event(episode, EventKind.ACK_EXPIRED, now))
                continue
            if episode.pause_until is not None and now >= episode.pause_until:
                episode.pause_until = None
                out.append(self._event(episode, EventKind.AUDIO_PAUSE_EXPIRED, now))
            if episode.escalate_at is not None and now >= episode.escalate_at:
                episode.escalate_at = None
                out.append(self._event(episode, EventKind.ESCALATED, now))


def _duration(alarm_id: str, requested: float | None, default: float) -> float | CommandRejected:
    if requested is None:
        return default
    if math.isfinite(requested) and requested > 0:
        return requested
    return CommandRejected(
        alarm_id=alarm_id,
        reason=RejectionReason.INVALID_DURATION,
        message=f"duration {requested!r} s is not a positive number",
    )
