"""The processor's only MQTT module: one gmqtt connection with acknowledgement after handling.

Why gmqtt (measurements in docs/processor.md, script `bench/mqtt_clients.py`): with the
PUBACK sent only once a message is durably handled, it received 1.5-3x faster than paho with
`manual_ack` on our own loop and than aiomqtt 2.5.1 (which acknowledges on arrival and exposes
manual acknowledgement only through its private paho client).

How: MQTT 5 with `optimistic_acknowledgement=False`. gmqtt runs our async callback per
message and sends the PUBACK when it returns; the callback awaits the awaitable the handler
returned (the journal commit of its group). Unacknowledged messages are bounded by our MQTT 5
Receive Maximum: the broker sends no more until we acknowledge, which is the backpressure.
Publishes beyond the broker's in-flight limit (gmqtt raises OverflowError) wait in a local
queue that drains as PUBACKs arrive. A lost connection is not reconnected here: the caller
builds a new link, so acknowledgements never cross connections.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Self

import gmqtt  # type: ignore[import-untyped]
from gmqtt.storage import PersistentStorage  # type: ignore[import-untyped]

from monitor.errors import MqttUnavailableError
from vigil.mqtt_settings import MqttSettings

log = logging.getLogger(__name__)

# topic, payload, retained -> None (acknowledge now) or an awaitable to acknowledge after
MessageHandler = Callable[[str, bytes, bool], Awaitable[object] | None]
SESSION_EXPIRY_S = 7 * 24 * 3600
SUCCESS = 0


class _AckedStorage(PersistentStorage):  # type: ignore[misc]
    """gmqtt's store of unacknowledged publishes, telling us when one is acknowledged."""

    def __init__(self, on_ack: Callable[[], None]) -> None:
        super().__init__()
        self._on_ack = on_ack

    def remove_message_by_mid(self, mid: int) -> None:
        super().remove_message_by_mid(mid)
        self._on_ack()


class MqttLink:
    """One connection. `async with` connects (with a timeout) and disconnects."""

    def __init__(  # noqa: PLR0913 - connection facts, each needed
        self,
        settings: MqttSettings,
        *,
        client_id: str,
        handler: MessageHandler,
        persistent: bool,
        receive_maximum: int = 1000,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self._settings = settings
        self._handler = handler
        self._connect_timeout_s = connect_timeout_s
        self._waiting: collections.deque[tuple[str, bytes, int, bool]] = collections.deque()
        self._storage = _AckedStorage(self._publish_waiting)
        properties: dict[str, Any] = {"receive_maximum": receive_maximum}
        if persistent:
            properties["session_expiry_interval"] = SESSION_EXPIRY_S
        self._client = gmqtt.Client(
            client_id,
            clean_session=not persistent,
            optimistic_acknowledgement=False,
            persistent_storage=self._storage,
            logger=logging.getLogger("gmqtt"),
            **properties,
        )
        if settings.username:
            self._client.set_auth_credentials(settings.username, settings.password)
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_unsubscribe = self._on_unsubscribe
        self._client.on_disconnect = self._on_disconnect
        self._subacks: dict[int, asyncio.Future[None]] = {}
        self._handling = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def unacknowledged_publishes(self) -> int:
        return len(self._storage.get_all()) + len(self._waiting)

    @property
    def handling(self) -> int:
        """Messages received and not yet acknowledged."""
        return self._handling

    async def __aenter__(self) -> Self:
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                await self._client.connect(
                    self._settings.host,
                    self._settings.port,
                    keepalive=self._settings.keepalive_s,
                    version=gmqtt.constants.MQTTv50,
                )
        except (OSError, TimeoutError, gmqtt.mqtt.handler.MQTTConnectError) as err:
            await self._abandon()
            raise MqttUnavailableError(
                f"cannot connect to MQTT broker {self._settings.host}:{self._settings.port}: "
                f"{err!r}"
            ) from err
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._abandon()

    async def _abandon(self) -> None:
        self._client.stop_reconnect()
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                await self._client.disconnect()
        except (OSError, TimeoutError, AttributeError, RuntimeError) as err:
            log.debug("disconnect: %r", err)

    async def subscribe(self, filters: list[str], qos: int = 1) -> None:
        if filters:
            subscriptions = [gmqtt.Subscription(f, qos=qos) for f in filters]
            await self._wait_ack([self._client.subscribe(subscriptions)])

    async def unsubscribe(self, filters: list[str]) -> None:
        if filters:
            await self._wait_ack([self._client.unsubscribe(filters)])

    async def _wait_ack(self, mids: list[int]) -> None:
        loop = asyncio.get_running_loop()
        waiters = [self._subacks.setdefault(mid, loop.create_future()) for mid in mids]
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                await asyncio.gather(*waiters)
        except TimeoutError as err:
            raise MqttUnavailableError("the broker did not answer a (un)subscribe") from err

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        """Send now, or as soon as the broker's in-flight window has room (order is kept)."""
        if self._waiting:
            self._waiting.append((topic, payload, qos, retain))
            return
        try:
            self._client.publish(topic, payload, qos=qos, retain=retain)
        except OverflowError:
            self._waiting.append((topic, payload, qos, retain))

    async def settle(self, timeout_s: float) -> None:
        """Wait until every received message has been acknowledged and every publish sent."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
                while self._waiting:
                    await self._storage.wait_empty()
                await self._storage.wait_empty()
                await asyncio.sleep(0)  # let gmqtt's done-callbacks write the last PUBACKs
        except TimeoutError:
            log.warning(
                "MQTT link did not settle in %.0f s: %d messages unacknowledged, %d publishes",
                timeout_s,
                self._handling,
                self.unacknowledged_publishes,
            )

    def _publish_waiting(self) -> None:
        while self._waiting:
            topic, payload, qos, retain = self._waiting[0]
            try:
                self._client.publish(topic, payload, qos=qos, retain=retain)
            except OverflowError:
                return
            self._waiting.popleft()

    async def _on_message(
        self, _client: object, topic: str, payload: bytes, _qos: int, properties: dict[str, Any]
    ) -> int:
        self._handling += 1
        self._idle.clear()
        try:
            done = self._handler(topic, payload, bool(properties.get("retain")))
            if done is not None:
                await done
        finally:
            self._handling -= 1
            if not self._handling:
                self._idle.set()
        return SUCCESS

    def _on_subscribe(self, _client: object, mid: int, *_: object) -> None:
        waiter = self._subacks.pop(mid, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    _on_unsubscribe = _on_subscribe

    def _on_disconnect(self, _client: object, *_: object) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
