"""The websocket protocol, version 1 (`docs/websocket.md`): client messages, codes. Pure.

Client messages are JSON objects tagged by ``type``; each is a msgspec Struct, so one
definition gives the decoder and its validation. `decode_client` never raises: bad input
becomes a `ProtocolViolation` carrying the typed error code and the request id if one could be
read, so the edge can answer it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Annotated, Literal

import msgspec

from vigil.wire import CommandResult

PROTOCOL_VERSION: Literal[1] = 1

Req = Annotated[str, msgspec.Meta(max_length=64)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
AlarmId = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
SessionId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class CloseCode(IntEnum):
    """Close codes the hub sends (4000-4999 are the application's own, RFC 6455 7.4.2)."""

    GOING_AWAY = 1001  # the hub is shutting down: reconnect and resume
    PROTOCOL = 4400  # the first message was not a login or hello, or not valid JSON
    UNAUTHENTICATED = 4401  # bad credentials, bad or expired token, account removed
    FORBIDDEN = 4403  # the page's Origin is not allowed
    AUTH_TIMEOUT = 4408  # no login or hello within the authentication timeout
    TOO_SLOW = 4429  # the client did not keep up with alarm events: reconnect and resume


class ErrorCode(StrEnum):
    """Typed errors of a command reply (``{"type": "error", "code": ...}``)."""

    MALFORMED = "malformed"  # not JSON, missing or mistyped fields
    UNKNOWN_TYPE = "unknown_type"  # a message type this protocol version does not have
    UNSUPPORTED_VERSION = "unsupported_version"  # hello with another protocol version
    BAD_STATE = "bad_state"  # e.g. a second hello on an authenticated connection
    NOT_AUTHORISED = "not_authorised"  # the session is not assigned to this clinician
    UNKNOWN_ALARM = "unknown_alarm"  # no active alarm with that id in that session
    UPSTREAM_UNAVAILABLE = "upstream_unavailable"  # the broker did not take the command: retry


class _Message(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag_field="type"
):
    req: Req | None = None


class Resume(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    epoch: Annotated[str, msgspec.Meta(max_length=64)]
    last_event_id: Annotated[int, msgspec.Meta(ge=0)]


class Login(_Message, frozen=True, kw_only=True, tag="login"):
    user: Name
    password: Secret


class Hello(_Message, frozen=True, kw_only=True, tag="hello"):
    v: int
    token: Secret
    resume: Resume | None = None


class Refresh(_Message, frozen=True, kw_only=True, tag="refresh"):
    pass


class _AlarmCommand(_Message, frozen=True, kw_only=True):
    session: SessionId
    alarm_id: AlarmId


class Acknowledge(_AlarmCommand, frozen=True, kw_only=True, tag="ack"):
    pass


class AudioPause(_AlarmCommand, frozen=True, kw_only=True, tag="audio_pause"):
    duration_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] | None = None


class Escalate(_AlarmCommand, frozen=True, kw_only=True, tag="escalate"):
    note: Text | None = None


class Note(_AlarmCommand, frozen=True, kw_only=True, tag="note"):
    text: Text


class Seen(_AlarmCommand, frozen=True, kw_only=True, tag="seen"):
    pass


ClientMessage = Login | Hello | Refresh | Acknowledge | AudioPause | Escalate | Note | Seen
AlarmCommand = Acknowledge | AudioPause | Escalate | Note | Seen

_decoder = msgspec.json.Decoder(ClientMessage)


class _Probe(msgspec.Struct):
    """What can be read from a message that failed to decode, to answer it."""

    type: object = None
    req: object = None


_probe = msgspec.json.Decoder(_Probe)
_KNOWN_TYPES = frozenset(
    ("login", "hello", "refresh", "ack", "audio_pause", "escalate", "note", "seen")
)


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    code: ErrorCode
    message: str
    req: str | None


def decode_client(raw: bytes | str) -> ClientMessage | ProtocolViolation:
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError as err:
        detail = str(err)
    try:
        probe = _probe.decode(raw)
    except msgspec.DecodeError:
        return ProtocolViolation(ErrorCode.MALFORMED, "not a JSON object", None)
    req = probe.req if isinstance(probe.req, str) and len(probe.req) <= 64 else None
    if isinstance(probe.type, str) and probe.type not in _KNOWN_TYPES:
        return ProtocolViolation(ErrorCode.UNKNOWN_TYPE, "unknown message type", req)
    return ProtocolViolation(ErrorCode.MALFORMED, detail, req)


def error_reply(code: ErrorCode, message: str, req: str | None) -> bytes:
    return msgspec.json.encode({"type": "error", "req": req, "code": code, "message": message})


def ok_reply(command: str, req: str | None, **extra: object) -> bytes:
    return msgspec.json.encode({"type": "ok", "req": req, "command": command, **extra})


# Websocket command name by wire `Command.action`, for the engine's answers.
COMMAND_OF_ACTION: dict[str, str] = {
    "acknowledge": "ack",
    "audio_pause": "audio_pause",
    "escalate": "escalate",
    "note": "note",
}


def result_frame(result: CommandResult, req: str | None) -> bytes:
    """The engine's `CommandResult` as the `command_result` message (`docs/websocket.md`)."""
    return msgspec.json.encode(
        {
            "type": "command_result",
            "req": req,
            "command": COMMAND_OF_ACTION[result.action],
            "session": result.session,
            "alarm_id": result.alarm_id,
            "by": result.by,
            "accepted": result.accepted,
            "reason": result.reason,
            "t": result.t,
        }
    )
