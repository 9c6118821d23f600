"""The processor's only MQTT module: one MQTT 5 connection that acknowledges after handling.

Why our own client (measurements in docs/processor.md): the processor's cost per message was
dominated by the client, not by the work. gmqtt, the fastest library we measured with
acknowledgement after handling, runs one task per message and writes one PUBACK per message;
profiled at 5k messages/s that was 45 % of the processor's CPU. Here a socket read hands the
complete PUBLISHes in it to the handler at once (a read of `SPLIT_FROM` or more in two halves),
the handler stages them as one group, and the PUBACKs of the group leave in one write once it
is durable. At low rates a read holds one message, so latency is unchanged; under load the
batches grow by themselves. Why halves: the broker's window of unacknowledged messages is
small (20 in Mosquitto's default), so a whole read acknowledged at its end leaves the broker
idle while we work and us idle while it refills; acknowledging the first half early overlaps
the two (measured in docs/benchmarks.md).

The link is small on purpose: QoS 0/1 only, no topic aliases, no AUTH exchange. Unacknowledged
messages are bounded by our Receive Maximum (the broker sends no more until we acknowledge:
the backpressure), our own publishes by the broker's (the rest wait here, in order). A lost
connection is not reconnected: the caller builds a new link and hands it what this one had not
got acknowledged (`pending_publishes`), so acknowledgements never cross connections.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Self

from monitor import mqtt_codec as codec
from monitor.errors import MqttUnavailableError
from vigil.mqtt_settings import MqttSettings

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600
_DEFAULT_SERVER_RECEIVE_MAXIMUM = 65535
# A read of at least this many messages is handled and acknowledged in two parts.
SPLIT_FROM = 8


@dataclass(frozen=True, slots=True)
class Handled:
    """What the handler made of one read's messages.

    `done`: acknowledge them once it completes (None: now). `failed`: indices of messages
    whose handling hit an internal error; they stay unacknowledged and the broker redelivers
    them on the next connection.
    """

    done: asyncio.Future[None] | None = None
    failed: frozenset[int] = field(default_factory=frozenset)


Handler = Callable[[Sequence[codec.Inbound]], Handled]
Publication = tuple[str, bytes, int, bool]  # topic, payload, qos, retain


class _Protocol(asyncio.Protocol):
    def __init__(self, link: MqttLink) -> None:
        self._link = link
        self._reader = codec.PacketReader()

    def data_received(self, data: bytes) -> None:
        try:
            packets = self._reader.feed(data)
        except codec.ProtocolError as err:
            self._link.fail(f"protocol error from the broker: {err}")
            return
        self._link.on_packets(packets)

    def connection_lost(self, exc: Exception | None) -> None:
        self._link.on_lost(exc)


class MqttLink:
    """One connection. `async with` connects (with a timeout) and disconnects."""

    def __init__(  # noqa: PLR0913 - connection facts, each needed
        self,
        settings: MqttSettings,
        *,
        client_id: str,
        handler: Handler,
        persistent: bool,
        receive_maximum: int = 1000,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self._settings = settings
        self._client_id = client_id
        self._handler = handler
        self._persistent = persistent
        self._receive_maximum = receive_maximum
        self._connect_timeout_s = connect_timeout_s
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._connack: asyncio.Future[codec.Connack] = self._loop.create_future()
        self._out: list[bytes] = []
        self._acks: collections.deque[tuple[asyncio.Future[None] | None, list[int]]] = (
            collections.deque()
        )
        self._handling = 0
        self._send_quota = _DEFAULT_SERVER_RECEIVE_MAXIMUM
        self._next_id = 0
        self._in_flight: dict[int, Publication] = {}
        self._waiting: collections.deque[Publication] = collections.deque()
        self._requests: dict[int, asyncio.Future[bytes]] = {}
        self._changed = asyncio.Event()
        self._flush_scheduled = False
        self._ping: asyncio.TimerHandle | None = None
        self._pong_due: float | None = None
        self.publish_failures = 0
        self.lost: asyncio.Future[None] = self._loop.create_future()

    # ---------------------------------------------------------------- what callers read

    @property
    def unacknowledged_publishes(self) -> int:
        return len(self._in_flight) + len(self._waiting)

    @property
    def handling(self) -> int:
        """Messages received and not yet acknowledged."""
        return self._handling

    def pending_publishes(self) -> list[Publication]:
        """Our publishes the broker has not acknowledged, in order (for the next link)."""
        return [*self._in_flight.values(), *self._waiting]

    # ---------------------------------------------------------------- connect and close

    async def __aenter__(self) -> Self:
        host, port = self._settings.host, self._settings.port
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                transport, _ = await self._loop.create_connection(
                    lambda: _Protocol(self), host, port
                )
                self._transport = transport
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._write(
                    codec.connect(
                        self._client_id,
                        keepalive_s=self._settings.keepalive_s,
                        clean_start=not self._persistent,
                        session_expiry_s=SESSION_EXPIRY_S if self._persistent else 0,
                        receive_maximum=self._receive_maximum,
                        username=self._settings.username,
                        password=self._settings.password,
                    )
                )
                connack = await asyncio.shield(self._connack)
        except (OSError, TimeoutError, MqttUnavailableError) as err:
            self._close()
            raise MqttUnavailableError(
                f"cannot connect to MQTT broker {host}:{port}: {err!r}"
            ) from err
        if connack.reason >= codec.FAILURE:
            self._close()
            raise MqttUnavailableError(
                f"MQTT broker {host}:{port} refused the connection: reason 0x{connack.reason:02x}"
            )
        quota = connack.properties.get(codec.RECEIVE_MAXIMUM, _DEFAULT_SERVER_RECEIVE_MAXIMUM)
        self._send_quota = int(quota) if isinstance(quota, int) else 1
        self._schedule_ping()
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._write(codec.DISCONNECT_PACKET)
            self._flush()
        self._close()
        try:
            # close() waits for the write buffer to drain; a broker busy writing to us may
            # never read it, so the socket is aborted rather than left half-open.
            async with asyncio.timeout(self._connect_timeout_s / 4):
                await asyncio.shield(self.lost)
        except TimeoutError:
            if self._transport is not None:
                self._transport.abort()

    def _close(self) -> None:
        if self._ping is not None:
            self._ping.cancel()
        if self._transport is not None:
            self._transport.close()

    def fail(self, why: str) -> None:
        log.error("MQTT: %s; dropping the connection", why)
        if self._transport is not None:
            self._transport.abort()

    def on_lost(self, exc: Exception | None) -> None:
        if self._ping is not None:
            self._ping.cancel()
        error = MqttUnavailableError(f"connection to the broker lost: {exc!r}")
        if not self._connack.done():
            self._connack.set_exception(error)
        for waiter in self._requests.values():
            if not waiter.done():
                waiter.set_exception(error)
        self._requests.clear()
        self._changed.set()
        if not self.lost.done():
            self.lost.set_result(None)

    # ---------------------------------------------------------------- subscriptions

    async def subscribe(self, filters: list[str], qos: int = 1) -> None:
        if filters:
            packet_id = self._allocate()
            reasons = await self._request(packet_id, codec.subscribe(packet_id, filters, qos))
            refused = [f for f, r in zip(filters, reasons, strict=False) if r >= codec.FAILURE]
            if refused or len(reasons) != len(filters):
                raise MqttUnavailableError(f"the broker refused subscriptions {refused}")

    async def unsubscribe(self, filters: list[str]) -> None:
        if filters:
            packet_id = self._allocate()
            await self._request(packet_id, codec.unsubscribe(packet_id, filters))

    async def _request(self, packet_id: int, packet: bytes) -> bytes:
        waiter: asyncio.Future[bytes] = self._loop.create_future()
        self._requests[packet_id] = waiter
        self._write(packet)
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                return await waiter
        except TimeoutError as err:
            raise MqttUnavailableError("the broker did not answer a (un)subscribe") from err
        finally:
            self._requests.pop(packet_id, None)

    # ---------------------------------------------------------------- publishing

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Send now, or once the broker's in-flight window has room (order is kept)."""
        if qos == 0:
            self._write(codec.publish(topic.encode(), payload, packet_id=0, qos=0, retain=retain))
        elif self._waiting or len(self._in_flight) >= self._send_quota:
            self._waiting.append((topic, payload, qos, retain))
        else:
            self._send((topic, payload, qos, retain))

    def _send(self, publication: Publication) -> None:
        topic, payload, qos, retain = publication
        packet_id = self._allocate()
        self._in_flight[packet_id] = publication
        self._write(
            codec.publish(topic.encode(), payload, packet_id=packet_id, qos=qos, retain=retain)
        )

    def _allocate(self) -> int:
        for _ in range(65535):
            self._next_id = self._next_id % 65535 + 1
            if self._next_id not in self._in_flight and self._next_id not in self._requests:
                return self._next_id
        raise MqttUnavailableError("no free MQTT packet identifier")  # pragma: no cover

    # ---------------------------------------------------------------- receiving

    def on_packets(self, packets: list[codec.Packet]) -> None:
        messages: list[codec.Inbound] = []
        for packet in packets:
            if isinstance(packet, codec.Inbound):
                messages.append(packet)
            elif isinstance(packet, codec.Acked):
                self._on_acked(packet)
            elif isinstance(packet, codec.Connack):
                if not self._connack.done():
                    self._connack.set_result(packet)
            elif packet.kind == codec.PINGRESP:
                self._pong_due = None
            else:
                log.warning("the broker disconnected us: reason 0x%02x", packet.reason)
        if len(messages) >= SPLIT_FROM:  # why halves: the module docstring
            half = (len(messages) + 1) // 2
            self._on_messages(messages[:half])
            self._on_messages(messages[half:])
        elif messages:
            self._on_messages(messages)

    def _on_messages(self, messages: list[codec.Inbound]) -> None:
        self._handling += len(messages)
        try:
            handled = self._handler(messages)
        except Exception:
            # The handler isolates each message's errors; this is a bug in it. Leave the
            # messages for redelivery and keep reading.
            log.exception("MQTT message handler failed on %d messages", len(messages))
            handled = Handled(failed=frozenset(range(len(messages))))
        ids = [
            m.packet_id for i, m in enumerate(messages) if m.packet_id and i not in handled.failed
        ]
        self._handling -= len(messages) - len(ids)
        self._acks.append((handled.done, ids))
        if handled.done is None or handled.done.done():
            self._release_acks()
            # Now, not on the next loop turn: the broker refills its in-flight window (and the
            # alarms decided for these messages leave) one turn sooner.
            self._flush()
        else:
            handled.done.add_done_callback(self._release_acks)

    def _release_acks(self, _: object = None) -> None:
        """Acknowledge, in the order received (MQTT 4.6), every group that is done."""
        acks = self._acks
        while acks and (acks[0][0] is None or acks[0][0].done()):
            done, ids = acks.popleft()
            self._handling -= len(ids)
            if done is not None and (done.cancelled() or done.exception() is not None):
                log.error("a message group failed to commit; leaving %d for redelivery", len(ids))
                continue
            self._out.extend(codec.puback(packet_id) for packet_id in ids)
        self._flush_soon()
        if not self._handling:
            self._changed.set()

    def _on_acked(self, packet: codec.Acked) -> None:
        if packet.kind != codec.PUBACK:
            waiter = self._requests.get(packet.packet_id)
            if waiter is not None and not waiter.done():
                waiter.set_result(packet.reasons)
            return
        publication = self._in_flight.pop(packet.packet_id, None)
        if publication is None:
            return
        if packet.reasons[0] >= codec.FAILURE:
            self.publish_failures += 1
            log.error(
                "the broker refused a publish on %s: 0x%02x", publication[0], packet.reasons[0]
            )
        while self._waiting and len(self._in_flight) < self._send_quota:
            self._send(self._waiting.popleft())
        if not self._in_flight:
            self._changed.set()

    # ---------------------------------------------------------------- writing and keepalive

    def _write(self, data: bytes) -> None:
        self._out.append(data)
        self._flush_soon()

    def _flush_soon(self) -> None:
        # One socket write per loop turn for everything decided in it (PUBACKs, alarms).
        if self._out and not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._out and self._transport is not None and not self._transport.is_closing():
            self._transport.write(b"".join(self._out))
        self._out.clear()

    def _schedule_ping(self) -> None:
        keepalive = self._settings.keepalive_s
        if keepalive > 0:
            self._ping = self._loop.call_later(keepalive / 2, self._send_ping)

    def _send_ping(self) -> None:
        now = self._loop.time()
        if self._pong_due is not None and now > self._pong_due:
            self.fail("no PINGRESP within the keepalive")
            return
        if self._pong_due is None:
            self._pong_due = now + self._settings.keepalive_s
        self._write(codec.PINGREQ_PACKET)
        self._schedule_ping()

    async def settle(self, timeout_s: float) -> None:
        """Wait until every received message has been acknowledged and every publish sent."""
        try:
            async with asyncio.timeout(timeout_s):
                while (self._handling or self._in_flight or self._waiting) and not self.lost.done():
                    self._changed.clear()
                    await self._changed.wait()
                self._flush()
        except TimeoutError:
            log.warning(
                "MQTT link did not settle in %.0f s: %d messages unacknowledged, %d publishes",
                timeout_s,
                self._handling,
                self.unacknowledged_publishes,
            )
