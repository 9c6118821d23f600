"""A minimal MQTT 3.1.1 client on a raw socket: enough to offer load and receive alarms.

Why not a library: on a 2-core box a Python client's per-message overhead (paho ~60 us)
makes the load generator, not the system under test, the bottleneck
(shared/docs/mqtt-clients.md). This client does CONNECT, PUBLISH at QoS 0/1 with a bounded
window of unacknowledged messages and coalesced writes, SUBSCRIBE, PUBACK, DISCONNECT; it
sets TCP_NODELAY. Everything else in MQTT is out of scope.
"""

from __future__ import annotations

import select
import socket
import struct
import time
from collections.abc import Iterable

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK, DISCONNECT = 1, 2, 3, 4, 8, 9, 14
COALESCE_BYTES = 1 << 16
CONNECT_TIMEOUT_S = 10.0


class MqttRawError(Exception):
    """The broker refused or closed the connection."""


def remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def utf8(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(raw)) + raw


def publish_packet(topic: bytes, payload: bytes, pid: int, *, retain: bool = False) -> bytes:
    """A QoS 1 PUBLISH; `topic` already length-prefixed (see `utf8`)."""
    var = topic + struct.pack("!H", pid)
    return bytes([0x32 | int(retain)]) + remaining_length(len(var) + len(payload)) + var + payload


def split_packets(buf: bytearray) -> tuple[list[tuple[int, bytes]], int]:
    """Complete packets at the start of `buf` as (first byte, body) and the bytes consumed."""
    out: list[tuple[int, bytes]] = []
    i, n = 0, len(buf)
    while n - i >= 2:
        length, mult, j = 0, 1, i + 1
        while True:
            if j >= n:
                return out, i
            byte = buf[j]
            length += (byte & 0x7F) * mult
            mult *= 128
            j += 1
            if not byte & 0x80:
                break
        if n - j < length:
            break
        out.append((buf[i], bytes(buf[j : j + length])))
        i = j + length
    return out, i


def connect(host: str, port: int, client_id: str, *, clean: bool = True) -> socket.socket:
    """Open a connection (keep-alive off) and return the socket after a good CONNACK."""
    sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    body = utf8("MQTT") + bytes([4, 0x02 if clean else 0x00]) + struct.pack("!H", 0)
    body += utf8(client_id)
    sock.sendall(bytes([CONNECT << 4]) + remaining_length(len(body)) + body)
    ack = b""
    while len(ack) < 4:
        chunk = sock.recv(4 - len(ack))
        if not chunk:
            raise MqttRawError("broker closed the connection before CONNACK")
        ack += chunk
    if ack[0] != CONNACK << 4 or ack[3] != 0:
        raise MqttRawError(f"CONNACK refused: {ack.hex()}")
    sock.settimeout(0.0)
    return sock


class WindowedPublisher:
    """QoS 1 publisher with at most `window` unacknowledged messages; writes are coalesced."""

    def __init__(self, host: str, port: int, client_id: str, window: int = 1000) -> None:
        self.sock = connect(host, port, client_id)
        self.window = window
        self.sent = 0
        self.acked = 0
        self._pid = 0
        self._wbuf = bytearray()
        self._rbuf = bytearray()

    @property
    def in_flight(self) -> int:
        return self.sent - self.acked

    def publish(self, topic: bytes, payload: bytes, *, retain: bool = False) -> None:
        """Queue one QoS 1 message (`topic` length-prefixed); blocks while the window is full."""
        deadline = time.monotonic() + 60.0
        while self.sent - self.acked >= self.window:
            self.pump(0.005)
            if time.monotonic() > deadline:
                raise MqttRawError("no PUBACK for 60 s: broker stalled")
        self._pid = self._pid % 65535 + 1
        self._wbuf += publish_packet(topic, payload, self._pid, retain=retain)
        self.sent += 1
        if len(self._wbuf) >= COALESCE_BYTES:
            self.pump(0)

    def pump(self, timeout: float = 0.0) -> None:
        """Write what is queued and read PUBACKs; wait at most `timeout` seconds."""
        readable, writable, _ = select.select(
            [self.sock], [self.sock] if self._wbuf else [], [], timeout
        )
        if writable:
            try:
                n = self.sock.send(self._wbuf)
            except BlockingIOError:
                n = 0
            del self._wbuf[:n]
        if readable:
            data = self.sock.recv(1 << 20)
            if not data:
                raise MqttRawError("broker closed the connection")
            self._rbuf += data
            packets, used = split_packets(self._rbuf)
            self.acked += sum(1 for first, _ in packets if first >> 4 == PUBACK)
            del self._rbuf[:used]

    def flush(self, timeout_s: float) -> bool:
        """Wait until everything is written and acknowledged; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while (self._wbuf or self.acked < self.sent) and time.monotonic() < deadline:
            self.pump(0.01)
        return not self._wbuf and self.acked >= self.sent

    def close(self) -> None:
        try:
            self.sock.settimeout(None)
            self.sock.sendall(bytes([DISCONNECT << 4, 0]))
        except OSError:
            pass
        self.sock.close()


class Subscriber:
    """Receives PUBLISHes on some filters, acknowledges QoS 1 ones, timestamps each on arrival."""

    def __init__(
        self, host: str, port: int, client_id: str, filters: Iterable[tuple[str, int]]
    ) -> None:
        self.sock = connect(host, port, client_id)
        self._rbuf = bytearray()
        body = struct.pack("!H", 1) + b"".join(utf8(f) + bytes([qos]) for f, qos in filters)
        self.sock.settimeout(None)
        self.sock.sendall(bytes([SUBSCRIBE << 4 | 0x2]) + remaining_length(len(body)) + body)
        self.sock.settimeout(CONNECT_TIMEOUT_S)
        while True:
            data = self.sock.recv(1 << 16)
            if not data:
                raise MqttRawError("broker closed the connection before SUBACK")
            self._rbuf += data
            packets, used = split_packets(self._rbuf)
            if any(first >> 4 == SUBACK for first, _ in packets):
                del self._rbuf[:used]
                break
        self.sock.settimeout(0.0)

    def poll(self, timeout: float) -> list[tuple[float, str, bytes]]:
        """Messages that arrived within `timeout` s as (receipt time, topic, payload)."""
        readable, _, _ = select.select([self.sock], [], [], timeout)
        if not readable:
            return []
        data = self.sock.recv(1 << 20)
        t = time.time()
        if not data:
            raise MqttRawError("broker closed the connection")
        self._rbuf += data
        packets, used = split_packets(self._rbuf)
        out: list[tuple[float, str, bytes]] = []
        acks = bytearray()
        for first, body in packets:
            if first >> 4 != PUBLISH:
                continue
            (topic_len,) = struct.unpack_from("!H", body, 0)
            topic = body[2 : 2 + topic_len].decode()
            start = 2 + topic_len
            if first & 0x06:  # QoS 1 or 2: a packet id follows the topic
                acks += bytes([PUBACK << 4, 2]) + body[start : start + 2]
                start += 2
            out.append((t, topic, body[start:]))
        del self._rbuf[:used]
        if acks:
            self.sock.settimeout(None)
            self.sock.sendall(acks)
            self.sock.settimeout(0.0)
        return out

    def close(self) -> None:
        try:
            self.sock.settimeout(None)
            self.sock.sendall(bytes([DISCONNECT << 4, 0]))
        except OSError:
            pass
        self.sock.close()
