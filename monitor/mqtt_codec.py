"""MQTT 5 packets, the few the processor needs (OASIS MQTT 5.0). Pure: bytes in, bytes out.

Encoders build whole packets. `PacketReader.feed` splits a byte stream into packets and parses
the ones a client receives; a malformed packet raises `ProtocolError` (the link then drops the
connection: MQTT 5 section 4.13 says a client closes on a protocol error).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from monitor.errors import MonitorError

CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 8, 9, 10, 11
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14

PINGREQ_PACKET: Final = b"\xc0\x00"
DISCONNECT_PACKET: Final = b"\xe0\x00"
MAX_REMAINING_LENGTH: Final = 268_435_455
FAILURE: Final = 0x80  # reason codes from here up are failures (section 2.4)
_U16 = struct.Struct("!H")

# Property identifiers (section 2.2.2.2) and how their values are laid out on the wire.
SESSION_EXPIRY_INTERVAL, RECEIVE_MAXIMUM, MAXIMUM_PACKET_SIZE = 0x11, 0x21, 0x27
TOPIC_ALIAS_MAXIMUM, REASON_STRING = 0x22, 0x1F
_BYTE, _U16_PROP, _U32, _VARINT, _UTF8, _BINARY, _PAIR = range(7)
_PROPERTY_KIND: Final[dict[int, int]] = {
    0x01: _BYTE, 0x02: _U32, 0x03: _UTF8, 0x08: _UTF8, 0x09: _BINARY, 0x0B: _VARINT,
    0x11: _U32, 0x12: _UTF8, 0x13: _U16_PROP, 0x15: _UTF8, 0x16: _BINARY, 0x17: _BYTE,
    0x18: _U32, 0x19: _BYTE, 0x1A: _UTF8, 0x1C: _UTF8, 0x1F: _UTF8, 0x21: _U16_PROP,
    0x22: _U16_PROP, 0x23: _U16_PROP, 0x24: _BYTE, 0x25: _BYTE, 0x26: _PAIR, 0x27: _U32,
    0x28: _BYTE, 0x29: _BYTE, 0x2A: _BYTE,
}  # fmt: skip


class ProtocolError(MonitorError):
    """The broker sent bytes that are not a valid MQTT 5 packet."""


def varint(n: int) -> bytes:
    if not 0 <= n <= MAX_REMAINING_LENGTH:
        raise ValueError(f"variable byte integer out of range: {n}")
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _utf8(text: str) -> bytes:
    data = text.encode()
    return _U16.pack(len(data)) + data


def _packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + varint(len(body)) + body


def connect(  # noqa: PLR0913 - the fields of CONNECT
    client_id: str,
    *,
    keepalive_s: int,
    clean_start: bool,
    session_expiry_s: int,
    receive_maximum: int,
    username: str | None = None,
    password: str | None = None,
) -> bytes:
    flags = (0x02 if clean_start else 0) | (0x80 if username else 0) | (0x40 if password else 0)
    properties = bytes((RECEIVE_MAXIMUM,)) + _U16.pack(receive_maximum)
    if session_expiry_s:
        properties += bytes((SESSION_EXPIRY_INTERVAL,)) + struct.pack("!I", session_expiry_s)
    body = b"\x00\x04MQTT\x05" + bytes((flags,)) + _U16.pack(keepalive_s)
    body += varint(len(properties)) + properties + _utf8(client_id)
    if username:
        body += _utf8(username)
    if password:
        secret = password.encode()
        body += _U16.pack(len(secret)) + secret
    return _packet(CONNECT << 4, body)


def publish(  # noqa: PLR0913 - the fields of PUBLISH
    topic: bytes, payload: bytes, *, packet_id: int, qos: int, retain: bool, dup: bool = False
) -> bytes:
    first = (PUBLISH << 4) | (0x08 if dup else 0) | (qos << 1) | (0x01 if retain else 0)
    ident = _U16.pack(packet_id) if qos else b""
    body_len = 2 + len(topic) + len(ident) + 1 + len(payload)
    return b"".join(
        (bytes((first,)), varint(body_len), _U16.pack(len(topic)), topic, ident, b"\x00", payload)
    )


def puback(packet_id: int) -> bytes:
    """Success, reason code omitted (section 3.4.2.1)."""
    return b"\x40\x02" + _U16.pack(packet_id)


def subscribe(packet_id: int, filters: list[str], qos: int) -> bytes:
    body = _U16.pack(packet_id) + b"\x00" + b"".join(_utf8(f) + bytes((qos,)) for f in filters)
    return _packet((SUBSCRIBE << 4) | 0x02, body)


def unsubscribe(packet_id: int, filters: list[str]) -> bytes:
    body = _U16.pack(packet_id) + b"\x00" + b"".join(_utf8(f) for f in filters)
    return _packet((UNSUBSCRIBE << 4) | 0x02, body)


@dataclass(frozen=True, slots=True)
class Connack:
    session_present: bool
    reason: int
    properties: dict[int, object]


@dataclass(frozen=True, slots=True)
class Acked:
    """PUBACK, SUBACK or UNSUBACK: the packet id and its reason code(s)."""

    kind: int
    packet_id: int
    reasons: bytes


@dataclass(frozen=True, slots=True)
class Inbound:
    """A PUBLISH from the broker. `packet_id` is 0 for QoS 0."""

    topic: str
    payload: bytes
    packet_id: int
    retain: bool


@dataclass(frozen=True, slots=True)
class Signal:
    """PINGRESP, or a DISCONNECT from the broker with its reason code."""

    kind: int
    reason: int = 0


Packet = Connack | Acked | Inbound | Signal


def _read_varint(data: bytes | bytearray, at: int, end: int) -> tuple[int, int] | None:
    """(value, next offset), or None when `data` stops before the integer does."""
    value, shift = 0, 0
    for i in range(at, min(at + 4, end)):
        byte = data[i]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i + 1
        shift += 7
    if end - at >= 4:
        raise ProtocolError("variable byte integer longer than four bytes")
    return None


def parse_properties(data: bytes) -> dict[int, object]:
    found = _read_varint(data, 0, len(data))
    if found is None:
        raise ProtocolError("truncated property length")
    length, at = found
    end = at + length
    if end > len(data):
        raise ProtocolError("property length beyond the packet")
    out: dict[int, object] = {}
    try:
        while at < end:
            ident = data[at]
            value, at = _property(data, at + 1, end, _PROPERTY_KIND.get(ident))
            if value is not None:  # user properties: nothing the processor acts on
                out[ident] = value
    except (struct.error, IndexError, UnicodeDecodeError) as err:
        raise ProtocolError(f"malformed properties: {err}") from err
    if at != end:
        raise ProtocolError("properties overrun their length")
    return out


def _property(data: bytes, at: int, end: int, kind: int | None) -> tuple[object, int]:
    """One property value starting at `at`, and where the next property starts."""
    if kind == _BYTE:
        return data[at], at + 1
    if kind == _U16_PROP:
        return _U16.unpack_from(data, at)[0], at + 2
    if kind == _U32:
        return struct.unpack_from("!I", data, at)[0], at + 4
    if kind == _VARINT:
        parsed = _read_varint(data, at, end)
        if parsed is None:
            raise ProtocolError("truncated property")
        return parsed
    if kind in (_UTF8, _BINARY):
        (size,) = _U16.unpack_from(data, at)
        raw = data[at + 2 : at + 2 + size]
        return (raw.decode() if kind == _UTF8 else raw), at + 2 + size
    if kind == _PAIR:
        (key_size,) = _U16.unpack_from(data, at)
        (value_size,) = _U16.unpack_from(data, at + 2 + key_size)
        return None, at + 4 + key_size + value_size
    raise ProtocolError(f"unknown property 0x{data[at - 1]:02x}")


class PacketReader:
    """Splits the broker's byte stream into parsed packets."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Packet]:
        buffer = self._buffer
        buffer += data
        out: list[Packet] = []
        at, size = 0, len(buffer)
        while size - at >= 2:
            found = _read_varint(buffer, at + 1, size)
            if found is None:
                break
            length, start = found
            end = start + length
            if end > size:
                break
            out.append(_parse(buffer[at], bytes(buffer[start:end])))
            at = end
        del buffer[:at]
        return out


def _parse(first: int, body: bytes) -> Packet:
    kind = first >> 4
    try:
        if kind == PUBLISH:
            return _parse_publish(first, body)
        if kind in (PUBACK, SUBACK, UNSUBACK):
            (packet_id,) = _U16.unpack_from(body)
            if kind == PUBACK:
                return Acked(kind, packet_id, body[2:3] or b"\x00")
            reasons_at = 2 + _properties_end(body, 2)
            return Acked(kind, packet_id, body[reasons_at:])
        if kind == CONNACK:
            return Connack(
                session_present=bool(body[0] & 0x01),
                reason=body[1],
                properties=parse_properties(body[2:]) if len(body) > 2 else {},
            )
        if kind == PINGRESP:
            return Signal(PINGRESP)
        if kind == DISCONNECT:
            return Signal(DISCONNECT, body[0] if body else 0)
    except (struct.error, IndexError) as err:
        raise ProtocolError(f"malformed packet type {kind}: {err}") from err
    raise ProtocolError(f"unexpected packet type {kind} from the broker")


def _properties_end(body: bytes, at: int) -> int:
    found = _read_varint(body, at, len(body))
    if found is None:
        raise ProtocolError("truncated property length")
    length, start = found
    return start - at + length


def _parse_publish(first: int, body: bytes) -> Inbound:
    qos = (first >> 1) & 0x03
    if qos == 3:
        raise ProtocolError("PUBLISH with QoS 3")
    (topic_len,) = _U16.unpack_from(body)
    at = 2 + topic_len
    try:
        topic = body[2:at].decode()
    except UnicodeDecodeError as err:
        raise ProtocolError("PUBLISH topic is not UTF-8") from err
    packet_id = 0
    if qos:
        (packet_id,) = _U16.unpack_from(body, at)
        at += 2
    # Properties of a PUBLISH (expiry, content type, ...): the processor reads none; we never
    # allow topic aliases (CONNECT sends no Topic Alias Maximum), so the topic is always set.
    at += _properties_end(body, at)
    if at > len(body):
        raise ProtocolError("PUBLISH properties beyond the packet")
    return Inbound(topic, body[at:], packet_id, bool(first & 0x01))
