"""What the engine emits: alarm events and command results."""

from dataclasses import dataclass
from enum import StrEnum

from alerts.profiles import Metric, Priority


class EventKind(StrEnum):
    """A step in an alarm episode's life (see docs/alarms.md for the state machine)."""

    RAISED = "raised"  # a new episode: the condition held for its delay
    CONDITION_RETURNED = "condition_returned"  # latched, unacknowledged, condition back
    ESCALATED = "escalated"  # not acknowledged within the priority's escalation time
    ACKNOWLEDGED = "acknowledged"
    AUDIO_PAUSED = "audio_paused"
    AUDIO_PAUSE_EXPIRED = "audio_pause_expired"  # the audio signal resumes
    ACK_EXPIRED = "ack_expired"  # re-alarm: the acknowledgement ran out, condition persists
    CONDITION_CLEARED = "condition_cleared"  # latched: stays until acknowledged
    RESOLVED = "resolved"  # the episode is over
    ADVISORY = "advisory"  # a one-off notice (pre-dose gate), not an alarm episode


class AlarmCategory(StrEnum):
    PHYSIOLOGICAL = "physiological"
    TECHNICAL = "technical"
    ADVISORY = "advisory"


@dataclass(frozen=True, slots=True)
class ReadingRef:
    """The reading that triggered an event."""

    device_id: str
    seq: int
    t: float


@dataclass(frozen=True, slots=True, kw_only=True)
class AlarmEvent:
    """One alarm event. `alarm_id` is the same for every event of one episode;
    `event_id` (``<alarm_id>.<kind>.<t in ms>``) identifies this event, the same in every
    replay of the same inputs, so a consumer can drop duplicates.

    `value` and `threshold` are in the metric's units; for rise and rate rules `threshold`
    is the absolute value the limit amounted to at that moment (baseline + rise, window
    extreme - fall). `onset_t` is when the condition began; `t` is when the event happened
    (the reading's time, the command's time or the tick's time).
    """

    event_id: str
    alarm_id: str
    kind: EventKind
    session_id: str
    rule_id: str
    category: AlarmCategory
    priority: Priority
    subject: str | None
    metric: Metric | None
    value: float | None
    threshold: float | None
    onset_t: float
    t: float
    reading: ReadingRef | None
    actor: str | None
    message: str


class RejectionReason(StrEnum):
    UNKNOWN_ALARM = "unknown_alarm"
    ALREADY_RESOLVED = "already_resolved"
    ALREADY_ACKNOWLEDGED = "already_acknowledged"  # audio pause on an acknowledged alarm
    INVALID_DURATION = "invalid_duration"  # a requested duration that is not a positive number


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandAccepted:
    events: tuple[AlarmEvent, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRejected:
    alarm_id: str
    reason: RejectionReason
    message: str


CommandResult = CommandAccepted | CommandRejected
