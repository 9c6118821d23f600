"""Closed-loop delivery: per-clinician receipts and escalation of unacknowledged alarms. Pure.

For every active alarm the hub tracks, per clinician, when it was *delivered* (the frame was
written to the clinician's socket), *seen* (the dashboard reported it on screen) and
*acknowledged*. An alarm whose priority has an escalation time and that nobody acknowledges
within it escalates (level 1: the backup clinicians and supervisors are alerted); if it stays
unacknowledged it escalates again after the same time, up to `max_level`.

    tracked --after_s, unacknowledged--> escalated (level 1) --after_s--> level 2 ... max_level
    tracked/escalated --acknowledged--> acknowledged (timer stopped)
    acknowledged --re-alarm (engine: ack expired)--> tracked again, timer restarted
    any --resolved / state cleared--> forgotten

Time is passed in by the caller (an injected clock), so tests drive escalation exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class EscalationReason(StrEnum):
    TIMEOUT = "not_acknowledged"  # the hub's timer
    MANUAL = "manual"  # a clinician asked for help
    ENGINE = "engine"  # the alarm engine's own escalation event


@dataclass(frozen=True, slots=True)
class Receipt:
    """One clinician's receipts of one alarm (a view; see `AlarmDelivery.receipts`)."""

    delivered_t: float | None = None
    seen_t: float | None = None
    acknowledged_t: float | None = None


@dataclass(slots=True)
class AlarmDelivery:
    alarm_id: str
    session: str
    priority: str
    first_t: float
    after_s: float | None
    escalate_at: float | None
    level: int = 0
    acknowledged_by: str | None = None
    acknowledged_t: float | None = None
    # user -> when. Recorded for every clinician on every alarm frame written, so kept as
    # plain str -> float maps: no object per clinician for the garbage collector to scan.
    delivered: dict[str, float] = field(default_factory=dict)
    seen: dict[str, float] = field(default_factory=dict)
    acknowledged: dict[str, float] = field(default_factory=dict)

    @property
    def receipts(self) -> dict[str, Receipt]:
        users = sorted(self.delivered.keys() | self.seen.keys() | self.acknowledged.keys())
        return {
            user: Receipt(
                self.delivered.get(user), self.seen.get(user), self.acknowledged.get(user)
            )
            for user in users
        }


@dataclass(frozen=True, slots=True)
class Escalation:
    alarm_id: str
    session: str
    priority: str
    level: int
    reason: EscalationReason
    t: float
    after_s: float | None
    by: str | None = None


class DeliveryBook:
    __slots__ = ("_alarms", "max_level")

    def __init__(self, *, max_level: int = 3) -> None:
        self.max_level = max_level
        self._alarms: dict[str, AlarmDelivery] = {}

    def get(self, alarm_id: str) -> AlarmDelivery | None:
        return self._alarms.get(alarm_id)

    def all(self) -> list[AlarmDelivery]:
        return list(self._alarms.values())

    def track(  # noqa: PLR0913 - each argument is a separate fact about the alarm
        self,
        alarm_id: str,
        session: str,
        priority: str,
        now: float,
        after_s: float | None,
        *,
        acknowledged_by: str | None = None,
    ) -> AlarmDelivery:
        """Start tracking an alarm (idempotent: a known alarm keeps its timer)."""
        entry = self._alarms.get(alarm_id)
        if entry is None:
            entry = AlarmDelivery(
                alarm_id=alarm_id,
                session=session,
                priority=priority,
                first_t=now,
                after_s=after_s,
                escalate_at=None if after_s is None else now + after_s,
            )
            self._alarms[alarm_id] = entry
        elif entry.priority != priority:
            entry.priority = priority
            entry.after_s = after_s
            if entry.acknowledged_by is None and entry.level == 0:
                entry.escalate_at = None if after_s is None else entry.first_t + after_s
        if acknowledged_by is not None and entry.acknowledged_by is None:
            self.acknowledged(alarm_id, acknowledged_by, now)
        return entry

    def delivered(self, alarm_id: str, user: str, now: float) -> None:
        entry = self._alarms.get(alarm_id)
        if entry is not None:
            entry.delivered.setdefault(user, now)

    def seen(self, alarm_id: str, user: str, now: float) -> bool:
        """Record that `user` has the alarm on screen; True the first time."""
        entry = self._alarms.get(alarm_id)
        if entry is None or user in entry.seen:
            return False
        entry.seen[user] = now
        entry.delivered.setdefault(user, now)
        return True

    def acknowledged(self, alarm_id: str, user: str, now: float) -> bool:
        """Stop the escalation timer; True if this was the first acknowledgement."""
        entry = self._alarms.get(alarm_id)
        if entry is None:
            return False
        entry.acknowledged.setdefault(user, now)
        entry.escalate_at = None
        if entry.acknowledged_by is not None:
            return False
        entry.acknowledged_by = user
        entry.acknowledged_t = now
        return True

    def rearm(self, alarm_id: str, now: float) -> None:
        """The alarm signals again (acknowledgement expired): it must be acknowledged again."""
        entry = self._alarms.get(alarm_id)
        if entry is None:
            return
        entry.acknowledged_by = None
        entry.acknowledged_t = None
        entry.acknowledged.clear()
        entry.escalate_at = None if entry.after_s is None else now + entry.after_s

    def resolve(self, alarm_id: str) -> AlarmDelivery | None:
        return self._alarms.pop(alarm_id, None)

    def forget_session(self, session: str) -> None:
        for alarm_id in [a.alarm_id for a in self._alarms.values() if a.session == session]:
            del self._alarms[alarm_id]

    def escalate(
        self, alarm_id: str, now: float, reason: EscalationReason, by: str | None = None
    ) -> Escalation | None:
        """Escalate at once (a clinician's request, the engine's event); None if unknown."""
        entry = self._alarms.get(alarm_id)
        if entry is None:
            return None
        if reason is EscalationReason.ENGINE and entry.level > 0:
            return None  # the hub's own timer got there first: one escalation, not two
        return self._fire(entry, now, reason, by)

    def _fire(
        self, entry: AlarmDelivery, now: float, reason: EscalationReason, by: str | None
    ) -> Escalation:
        entry.level = min(entry.level + 1, self.max_level)
        unacknowledged = entry.acknowledged_by is None
        if unacknowledged and entry.after_s is not None and entry.level < self.max_level:
            entry.escalate_at = now + entry.after_s
        else:
            entry.escalate_at = None
        return Escalation(
            alarm_id=entry.alarm_id,
            session=entry.session,
            priority=entry.priority,
            level=entry.level,
            reason=reason,
            t=now,
            after_s=entry.after_s,
            by=by,
        )

    def due(self, now: float) -> list[Escalation]:
        """Fire every escalation timer that is due at `now` (inclusive), oldest alarm first."""
        return [
            self._fire(entry, now, EscalationReason.TIMEOUT, None)
            for entry in self._alarms.values()
            if entry.escalate_at is not None and now >= entry.escalate_at
        ]
