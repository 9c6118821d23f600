"""Payload types of wire version 1. Every payload carries `v` so a reader can refuse the unknown.

Times are UTC epoch seconds (float): unambiguous, cheap to encode, and what InfluxDB and the
alarm engine compute with. Values are in canonical units (mmHg, bpm, %): the gateway converts
kPa at the edge so nothing downstream has to know a device's unit.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Literal, get_args

import msgspec

WIRE_VERSION: Literal[1] = 1

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
Id = Annotated[str, msgspec.Meta(pattern=ID_PATTERN)]
# The same rule, checked by `ReadingBatch.__post_init__` once per distinct id rather than by
# msgspec's regex on every message (three regex matches were a fifth of decoding a batch of
# ten readings); the JSON Schema is unchanged.
_CachedId = Annotated[str, msgspec.Meta(extra_json_schema={"pattern": ID_PATTERN})]
# fullmatch: Python's `$` also matches before a final newline; JSON Schema's does not.
_ID_MATCH = re.compile(ID_PATTERN).fullmatch


@functools.lru_cache(maxsize=1 << 16)
def _is_id(text: str) -> bool:
    return _ID_MATCH(text) is not None


# Alarm ids appear as one topic level (`alarms/{session}/state/{alarm_id}`): no `/ + #`.
AlarmId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$")]
Time = Annotated[float, msgspec.Meta(ge=0)]
Seq = Annotated[int, msgspec.Meta(ge=0)]

DeviceKind = Literal["hr_strap", "bp_cuff", "pulse_oximeter"]

Metric = Literal[
    "hr",  # heart rate, bpm (0x2A37)
    "sbp",  # systolic, mmHg (0x2A35)
    "dbp",  # diastolic, mmHg
    "map",  # mean arterial pressure, mmHg
    "cuff",  # intermediate cuff pressure while inflating, mmHg (0x2A36); never alarmed on
    "pr",  # pulse rate, bpm (cuff 0x2A35 or oximeter 0x2A5E/0x2A5F normal)
    "spo2",  # %, (0x2A5E / 0x2A5F normal)
    "spo2_fast",
    "pr_fast",
    "spo2_slow",
    "pr_slow",
    "pai",  # pulse amplitude index, %
]
METRICS: frozenset[str] = frozenset(get_args(Metric))

Flag = Literal[
    # Blood Pressure Measurement Status (0x2A35 bit 4 field)
    "body_movement",
    "cuff_loose",
    "irregular_pulse",
    "improper_position",
    "pr_above_range",
    "pr_below_range",
    # PLX Measurement Status
    "plx_measurement_ongoing",
    "plx_early_estimate",
    "plx_validated",
    "plx_fully_qualified",
    "plx_from_storage",
    "plx_demonstration",
    "plx_testing",
    "plx_calibration_ongoing",
    "plx_measurement_unavailable",
    "plx_questionable",
    "plx_invalid",
    # PLX Device and Sensor Status
    "display_update_ongoing",
    "equipment_malfunction",
    "signal_processing_irregularity",
    "inadequate_signal",
    "poor_signal",
    "low_perfusion",
    "erratic_signal",
    "nonpulsatile_signal",
    "questionable_pulse",
    "signal_analysis_ongoing",
    "sensor_interference",
    "sensor_unconnected",
    "unknown_sensor",
    "sensor_displaced",
    "sensor_malfunction",
    "sensor_disconnected",
    # Gateway's own
    "device_clock_unset",
]
FLAGS: frozenset[str] = frozenset(get_args(Flag))


class _Payload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    v: Literal[1] = WIRE_VERSION


class Reading(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    omit_defaults=True,
    gc=False,  # holds no references back to itself: the collector need not track millions
):
    """One decoded notification or indication of one device."""

    seq: Seq  # per-device, monotonic across gateway restarts; (device, seq) is the dedup key
    t: Time  # gateway receive time
    values: dict[Metric, float]
    t_dev: Time | None = None  # device clock, when present and set; metadata only
    rr_ms: list[Annotated[float, msgspec.Meta(gt=0)]] | None = None
    contact: bool | None = None  # None: the device does not report skin contact
    # A tuple: a list default is copied for every decoded reading (a sixth of decoding time).
    flags: tuple[Flag, ...] = ()
    historical: bool = False  # late (replayed, stored on the device): store, never alarm


class ReadingBatch(_Payload, frozen=True, kw_only=True):
    gateway: _CachedId
    session: _CachedId
    device: _CachedId
    kind: DeviceKind
    readings: Annotated[list[Reading], msgspec.Meta(min_length=1, max_length=1000)]

    def __post_init__(self) -> None:
        if not (_is_id(self.gateway) and _is_id(self.session) and _is_id(self.device)):
            name = next(n for n in ("gateway", "session", "device") if not _is_id(getattr(self, n)))
            # Raised while decoding, msgspec turns this into a ValidationError.
            raise ValueError(f"Expected `str` matching regex {ID_PATTERN!r} - at `$.{name}`")


class DeviceStatus(_Payload, frozen=True, kw_only=True):
    gateway: Id
    session: Id
    device: Id
    kind: DeviceKind
    state: Literal["connecting", "connected", "disconnected"]
    t: Time
    battery_pct: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    rssi_dbm: int | None = None
    last_seen: Time | None = None
    model: str | None = None
    firmware: str | None = None


class GatewayStatus(_Payload, frozen=True, kw_only=True):
    gateway: Id
    state: Literal["online", "offline"]
    t: Time | None = None  # absent in the last will, which is composed before it is needed
    outbox_depth: int | None = None
    software: str | None = None


class GatewayEvent(_Payload, frozen=True, kw_only=True):
    gateway: Id
    event: Literal["outbox_overflow", "outbox_recovered"]
    t: Time
    dropped: int = 0
    detail: str | None = None


class SessionDescriptor(_Payload, frozen=True, kw_only=True):
    session: Id
    patient: Id  # pseudonym
    devices: list[Id]
    profile: str
    clinicians: list[Id]
    started: Time
    dose_time: Time | None = None
    ended: Time | None = None
    overrides: dict[str, dict[str, float | bool | str]] = {}


Priority = Literal["high", "medium", "low"]


class AlarmEvent(_Payload, frozen=True, kw_only=True):
    event_id: str  # idempotency key: the same decision always has the same id
    session: Id
    alarm_id: AlarmId
    kind: str
    priority: Priority
    rule: str
    message: str
    t: Time
    onset: Time | None = None
    subject: str | None = None  # what a technical alarm is about: a device id or a metric
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    device: Id | None = None
    seq: Seq | None = None
    source_t: Time | None = None
    by: Id | None = None


class AlarmState(_Payload, frozen=True, kw_only=True):
    """An open alarm episode, retained; `state` is `active`, `latched` (condition gone, waits
    for an acknowledgement), `acknowledged` or `audio_paused`."""

    session: Id
    alarm_id: AlarmId
    rule: str
    priority: Priority
    state: str
    message: str
    onset: Time
    t: Time
    acknowledged_by: Id | None = None
    until: Time | None = None  # when the acknowledgement or audio pause runs out
    escalated: bool = False


class Command(_Payload, frozen=True, kw_only=True):
    session: Id
    alarm_id: AlarmId
    action: Literal["acknowledge", "audio_pause", "escalate", "note"]
    by: Id
    t: Time
    duration_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    request_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None  # echoed in the result


class CommandResult(_Payload, frozen=True, kw_only=True):
    """The engine's answer to a `Command`: accepted, or rejected with a reason."""

    session: Id
    alarm_id: AlarmId
    action: Literal["acknowledge", "audio_pause", "escalate", "note"]
    by: Id
    t: Time
    accepted: bool
    reason: str | None = None  # unknown_alarm, already_resolved, already_acknowledged, ...
    request_id: str | None = None


class SessionBaseline(_Payload, frozen=True, kw_only=True):
    """The baselines fixed at a session's dose (retained): a restarted processor resumes the
    session's rise rules with them, since the pre-dose readings they came from are gone."""

    session: Id
    dose_time: Time
    values: dict[Metric, float]  # per metric with enough pre-dose readings (docs/alarms.md)
    t: Time


class SessionPending(_Payload, frozen=True, kw_only=True):
    """A session's alarm conditions waiting out their delay (retained; an empty payload when
    none is): a restarted processor resumes the delays instead of starting them again."""

    session: Id
    # alarm key (the rule id, or `<gate>:<device>` for an artifact gate; the middle of an
    # alarm id) -> the reading time the condition began
    pending: dict[AlarmId, Time]
    t: Time


class DeadLetter(_Payload, frozen=True, kw_only=True):
    topic: str
    reason: str
    t: Time
    payload: str  # the rejected bytes, as text when they decode, else hex; truncated to 4 KiB
    truncated: bool = False
