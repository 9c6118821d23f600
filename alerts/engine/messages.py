"""Message text for alarm events. Sessions appear by their pseudonym only: no patient data."""

from alerts.engine.events import EventKind
from alerts.profiles import Comparison, ConditionRule, RuleKind

_PHRASES: dict[EventKind, str] = {
    EventKind.RAISED: "alarm",
    EventKind.CONDITION_RETURNED: "condition back while latched",
    EventKind.ESCALATED: "not acknowledged in time, escalated",
    EventKind.ACKNOWLEDGED: "acknowledged",
    EventKind.AUDIO_PAUSED: "audio paused",
    EventKind.AUDIO_PAUSE_EXPIRED: "audio pause over, alarm sounding",
    EventKind.ACK_EXPIRED: "acknowledgement expired, condition persists",
    EventKind.CONDITION_CLEARED: "condition cleared, latched until acknowledged",
    EventKind.RESOLVED: "resolved",
    EventKind.ADVISORY: "advisory",
}

_COMPARISONS: dict[Comparison, str] = {
    Comparison.ABOVE: ">",
    Comparison.AT_OR_ABOVE: ">=",
    Comparison.BELOW: "<",
    Comparison.AT_OR_BELOW: "<=",
}


def rule_summary(rule: ConditionRule) -> str:
    """What a physiological rule watches, e.g. ``spo2 < 90 for 15 s``."""
    op = _COMPARISONS[rule.comparison]
    if rule.kind is RuleKind.RISE:
        what = f"{rule.metric} rise over baseline {op} {rule.limit:g}"
    elif rule.kind is RuleKind.RATE:
        what = f"{rule.metric} {rule.direction} {op} {rule.limit:g} within {rule.window_s:g} s"
    else:
        what = f"{rule.metric} {op} {rule.limit:g}"
    return f"{what} for {rule.delay_s:g} s" if rule.delay_s else what


def event_message(  # noqa: PLR0913  # every part of the text is a separate fact
    kind: EventKind,
    *,
    session_id: str,
    rule_id: str,
    summary: str,
    value: float | None,
    actor: str | None,
) -> str:
    text = f"session {session_id}: {rule_id} ({summary}): {_PHRASES[kind]}"
    if actor is not None:
        text += f" by {actor}"
    if value is not None:
        text += f"; value {value:g}"
    return text
