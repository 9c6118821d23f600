"""The audit trail's records and their InfluxDB line protocol. Pure.

Measurement `audit`; tags `session`, `action`, `by` (pseudonymous ids and a closed set of
actions: bounded cardinality); fields `alarm_id`, and `detail` / `note` when present;
timestamp = when it happened (the hub's clock), in nanoseconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

MEASUREMENT = "audit"

Action = Literal[
    "acknowledge",
    "audio_pause",
    "escalate",
    "note",
    "seen",
    "delivery_failure",
    "login",
    "command_rejected",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    action: Action
    by: str  # a clinician's account name, or "hub" for the hub's own decisions
    t: float
    session: str = ""
    alarm_id: str = ""
    detail: str = ""  # e.g. "level 1: not_acknowledged after 120 s", "duration 120 s"
    note: str = ""


def _tag(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def _string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def audit_line(record: AuditRecord) -> str:
    tags = [f"action={record.action}", f"by={_tag(record.by)}"]
    if record.session:
        tags.append(f"session={_tag(record.session)}")
    fields = [f"alarm_id={_string(record.alarm_id)}"]
    if record.detail:
        fields.append(f"detail={_string(record.detail)}")
    if record.note:
        fields.append(f"note={_string(record.note)}")
    # Through microseconds, as for readings: t * 1e9 would smear the last digits.
    ns = round(record.t * 1e6) * 1000
    return f"{MEASUREMENT},{','.join(sorted(tags))} {','.join(fields)} {ns}"


class AuditSink(Protocol):
    """Where the hub's audit records go; `record` must not block (the edge queues them)."""

    def record(self, records: Iterable[AuditRecord]) -> None: ...
