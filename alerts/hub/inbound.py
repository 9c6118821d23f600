"""Where MQTT messages become typed hub inputs: topic routing and payload decoding. Pure.

`decode_inbound` never raises: a message that does not fit the wire contract becomes a
`Rejected` with the reason, which the edge counts and logs once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from vigil.wire import (
    AlarmEvent,
    AlarmState,
    CommandResult,
    DeviceStatus,
    GatewayStatus,
    ReadingBatch,
    SessionDescriptor,
    Topics,
    valid_id,
)


@dataclass(frozen=True, slots=True)
class AlarmEventIn:
    event: AlarmEvent


@dataclass(frozen=True, slots=True)
class AlarmStateIn:
    session: str
    alarm_id: str
    state: AlarmState | None  # None: the retained state was cleared (no longer active)


@dataclass(frozen=True, slots=True)
class DeviceStatusIn:
    device: str
    status: DeviceStatus | None


@dataclass(frozen=True, slots=True)
class GatewayStatusIn:
    gateway: str
    status: GatewayStatus | None


@dataclass(frozen=True, slots=True)
class SessionIn:
    session: str
    descriptor: SessionDescriptor | None  # None: the session was deleted


@dataclass(frozen=True, slots=True)
class ReadingsIn:
    batch: ReadingBatch


@dataclass(frozen=True, slots=True)
class CommandResultIn:
    result: CommandResult  # the engine's answer to a command the hub (or another) forwarded


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str


Inbound = (
    AlarmEventIn
    | AlarmStateIn
    | DeviceStatusIn
    | GatewayStatusIn
    | SessionIn
    | ReadingsIn
    | CommandResultIn
)

_event = msgspec.json.Decoder(AlarmEvent)
_state = msgspec.json.Decoder(AlarmState)
_device = msgspec.json.Decoder(DeviceStatus)
_gateway = msgspec.json.Decoder(GatewayStatus)
_session = msgspec.json.Decoder(SessionDescriptor)
_readings = msgspec.json.Decoder(ReadingBatch)
_result = msgspec.json.Decoder(CommandResult)


def subscriptions(topics: Topics) -> list[str]:
    """The filters the hub subscribes to. Alarm ids may contain `/`, so state uses `#`."""
    base = topics.base
    return [
        f"{base}/alarms/+/events",
        f"{base}/alarms/+/state/#",
        f"{base}/status/device/+",
        f"{base}/status/gateway/+",
        f"{base}/sessions/+",
        topics.readings_filter(),
        f"{base}/commands/+/results",
    ]


def _route(topics: Topics, topic: str) -> tuple[str, list[str]] | None:  # noqa: PLR0911 - one per topic
    prefix = topics.base + "/"
    if not topic.startswith(prefix):
        return None
    parts = topic[len(prefix) :].split("/")
    match parts:
        case ["alarms", session, "events"]:
            return "event", [session]
        case ["alarms", session, "state", *alarm] if alarm:
            return "state", [session, "/".join(alarm)]
        case ["status", "device", device]:
            return "device", [device]
        case ["status", "gateway", gateway]:
            return "gateway", [gateway]
        case ["sessions", session]:
            return "session", [session]
        case ["readings", _shard, session]:
            return "readings", [session]
        case ["commands", session, "results"]:
            return "result", [session]
    return None


def _alarm_event(ids: list[str], payload: bytes) -> Inbound | Rejected:
    event = _event.decode(payload)
    return AlarmEventIn(event) if event.session == ids[0] else Rejected("session mismatch")


def _alarm_state(ids: list[str], payload: bytes) -> Inbound | Rejected:
    if not payload:
        return AlarmStateIn(ids[0], ids[1], None)
    state = _state.decode(payload)
    if (state.session, state.alarm_id) != (ids[0], ids[1]):
        return Rejected("session or alarm id differs from the topic")
    return AlarmStateIn(ids[0], ids[1], state)


def _device_status(ids: list[str], payload: bytes) -> Inbound | Rejected:
    return DeviceStatusIn(ids[0], _device.decode(payload) if payload else None)


def _gateway_status(ids: list[str], payload: bytes) -> Inbound | Rejected:
    return GatewayStatusIn(ids[0], _gateway.decode(payload) if payload else None)


def _session_descriptor(ids: list[str], payload: bytes) -> Inbound | Rejected:
    descriptor = _session.decode(payload) if payload else None
    if descriptor is not None and descriptor.session != ids[0]:
        return Rejected("session mismatch")
    return SessionIn(ids[0], descriptor)


def _reading_batch(ids: list[str], payload: bytes) -> Inbound | Rejected:
    batch = _readings.decode(payload)
    return ReadingsIn(batch) if batch.session == ids[0] else Rejected("session mismatch")


def _command_result(ids: list[str], payload: bytes) -> Inbound | Rejected:
    result = _result.decode(payload)
    return CommandResultIn(result) if result.session == ids[0] else Rejected("session mismatch")


_DECODERS: dict[str, Callable[[list[str], bytes], Inbound | Rejected]] = {
    "event": _alarm_event,
    "state": _alarm_state,
    "device": _device_status,
    "gateway": _gateway_status,
    "session": _session_descriptor,
    "readings": _reading_batch,
    "result": _command_result,
}


def decode_inbound(topics: Topics, topic: str, payload: bytes) -> Inbound | Rejected:
    routed = _route(topics, topic)
    if routed is None:
        return Rejected("unexpected topic")
    kind, ids = routed
    if not valid_id(ids[0]):
        return Rejected("invalid id in topic")
    try:
        return _DECODERS[kind](ids, payload)
    except msgspec.DecodeError as err:
        return Rejected(f"invalid {kind} payload: {err}")
