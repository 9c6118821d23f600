"""What the engine consumes. The processor adapts wire messages into these.

Times are UTC epoch seconds (`t`). Reading times are the device's measurement times; the
persistence of a physiological condition is measured in reading time, as the Node-RED peer
does, so a backlog delivered late is judged as it happened.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from alerts.profiles import Metric


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """One measurement from one device: one or several metrics taken at time `t`.

    `contact` is the device's skin-contact status (None when it does not report one);
    `flags` are quality flag names (`alerts.profiles.QUALITY_FLAGS`; others are ignored).
    `historical` readings (device memory replayed after a reconnect) never drive alarms.
    """

    session_id: str
    device_id: str
    seq: int
    t: float
    values: Mapping[Metric, float]
    contact: bool | None = None
    flags: frozenset[str] = field(default_factory=frozenset)
    historical: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceStatus:
    """A device's link or battery changed. A field left None did not change."""

    session_id: str
    device_id: str
    t: float
    connected: bool | None = None
    battery_pct: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayStatus:
    """The home gateway's state: `online` false is its MQTT last will; overflow means lost data."""

    session_id: str
    gateway_id: str
    t: float
    online: bool | None = None
    outbox_overflow: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DoseAdministered:
    """The clinician marked the dose: readings before `t` form the baseline."""

    session_id: str
    t: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Acknowledge:
    """A clinician accepts responsibility for an alarm for `duration_s`, or the profile's
    `acknowledge_s` when None."""

    session_id: str
    alarm_id: str
    by: str
    t: float
    duration_s: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PauseAudio:
    """A clinician silences an alarm's audio for `duration_s`, or the profile's
    `audio_pause_s` when None."""

    session_id: str
    alarm_id: str
    by: str
    t: float
    duration_s: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Escalate:
    """A clinician asks for the backup responder now."""

    session_id: str
    alarm_id: str
    by: str
    t: float


Command = Acknowledge | PauseAudio | Escalate


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoredAlarm:
    """An episode that was open when the processor stopped (from its retained alarm state).

    `condition_present` false means latched: the condition cleared and the alarm waits for an
    acknowledgement. `ack_until` None on an acknowledged alarm means unknown: the
    acknowledgement then expires at the next tick. `escalated` false re-arms escalation,
    counted from the onset.
    """

    session_id: str
    alarm_id: str
    onset_t: float
    condition_present: bool = True
    acknowledged: bool = False
    ack_until: float | None = None
    escalated: bool = False
