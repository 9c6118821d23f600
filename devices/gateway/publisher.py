"""The MQTT edge of the gateway: drains the outbox in order with QoS 1, deletes on PUBACK.

After any broker outage it reconnects with backoff and starts again from the oldest row still
in the outbox, so a reading whose PUBACK was lost is sent again: at-least-once, and the
processor deduplicates by (device, seq).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable

import aiomqtt
import msgspec

from devices.gateway.batching import OutgoingBatch, compose
from devices.gateway.config import GatewaySettings
from devices.gateway.outbox import Outbox
from devices.gateway.status import StatusBoard
from vigil.mqtt_settings import NODELAY_SOCKET_OPTIONS
from vigil.wire import GatewayEvent, GatewayStatus, Topics

log = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder()
SOFTWARE = "vigil-gateway/0.1"


class Publisher:
    def __init__(
        self,
        settings: GatewaySettings,
        outbox: Outbox,
        statuses: StatusBoard,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._outbox = outbox
        self._statuses = statuses
        self._clock = clock
        self._topics = Topics(settings.mqtt.root)
        self.new_data = asyncio.Event()
        self.connected = asyncio.Event()
        self.published_batches = 0

    def _status_payload(self, state: str) -> bytes:
        return _encoder.encode(
            GatewayStatus(
                gateway=self._settings.id,
                state=state,  # type: ignore[arg-type]
                t=self._clock() if state == "online" else None,
                outbox_depth=self._outbox.depth if state == "online" else None,
                software=SOFTWARE,
            )
        )

    async def run(self) -> None:
        """Publish forever; reconnect after every broker failure."""
        attempt = 0
        while True:
            started = time.monotonic()
            failure: Exception | None = None
            try:
                await self._connected_session()
            except* aiomqtt.MqttError as group:
                failure = group.exceptions[0]
            if failure is not None:
                self.connected.clear()
                err = failure
                up_for = time.monotonic() - started
                attempt = self._settings.backoff.next_attempt(attempt, up_for)
                delay = self._settings.backoff.delay(attempt - 1, random.random())  # noqa: S311
                log.warning(
                    "broker unreachable (%s); retrying in %.1f s, %d readings kept in the outbox",
                    err,
                    delay,
                    self._outbox.depth,
                )
                await asyncio.sleep(delay)

    async def _connected_session(self) -> None:
        mqtt = self._settings.mqtt
        will = aiomqtt.Will(
            self._topics.gateway_status(self._settings.id),
            self._status_payload("offline"),
            qos=1,
            retain=True,
        )
        async with aiomqtt.Client(
            mqtt.host,
            mqtt.port,
            username=mqtt.username,
            password=mqtt.password,
            identifier=f"vigil-gw-{self._settings.id}",
            keepalive=mqtt.keepalive_s,
            will=will,
            timeout=self._settings.publish_timeout_s,
            max_inflight_messages=self._settings.max_in_flight,
            socket_options=NODELAY_SOCKET_OPTIONS,
        ) as client:
            self.connected.set()
            log.info(
                "connected to the broker; %d readings waiting in the outbox", self._outbox.depth
            )
            try:
                await self._announce(client)
                await self._drain_forever(client)
            except asyncio.CancelledError:
                await asyncio.shield(self._say_goodbye(client))
                raise

    async def _say_goodbye(self, client: aiomqtt.Client) -> None:
        try:
            await client.publish(
                self._topics.gateway_status(self._settings.id),
                self._status_payload("offline"),
                qos=1,
                retain=True,
                timeout=2,
            )
        except aiomqtt.MqttError:
            log.info("could not publish the offline status; the last will covers it")

    async def _announce(self, client: aiomqtt.Client) -> None:
        timeout = self._settings.publish_timeout_s
        await client.publish(
            self._topics.gateway_status(self._settings.id),
            self._status_payload("online"),
            qos=1,
            retain=True,
            timeout=timeout,
        )
        self._statuses.mark_all_dirty()
        if dropped := self._outbox.take_dropped():
            event = GatewayEvent(
                gateway=self._settings.id,
                event="outbox_overflow",
                t=self._clock(),
                dropped=dropped,
                detail=f"outbox bound of {self._outbox.max_readings} readings reached; "
                "the oldest were dropped",
            )
            log.error("outbox overflowed: %d oldest readings were dropped", dropped)
            await client.publish(
                self._topics.gateway_events(self._settings.id),
                _encoder.encode(event),
                qos=1,
                timeout=timeout,
            )

    async def _publish_statuses(self, client: aiomqtt.Client) -> None:
        for status in self._statuses.take_dirty():
            await client.publish(
                self._topics.device_status(status.device),
                _encoder.encode(status),
                qos=1,
                retain=True,
                timeout=self._settings.publish_timeout_s,
            )

    async def _drain_forever(self, client: aiomqtt.Client) -> None:
        settings = self._settings
        window = asyncio.Semaphore(settings.max_in_flight)
        cursor = 0
        async with asyncio.TaskGroup() as group:
            while True:
                await self._publish_statuses(client)
                rows = self._outbox.pending(after_id=cursor, limit=settings.max_per_batch * 20)
                if not rows:
                    self.new_data.clear()
                    waiters = [
                        asyncio.ensure_future(self.new_data.wait()),
                        asyncio.ensure_future(self._statuses.changed.wait()),
                    ]
                    try:
                        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        for waiter in waiters:
                            waiter.cancel()
                    continue
                cursor = rows[-1].id
                batches = compose(
                    rows,
                    gateway=settings.id,
                    topics=self._topics,
                    now=self._clock(),
                    lateness_s=settings.lateness_s,
                    max_per_batch=settings.max_per_batch,
                )
                for batch in batches:
                    await window.acquire()
                    group.create_task(self._publish_one(client, batch, window))

    async def _publish_one(
        self, client: aiomqtt.Client, batch: OutgoingBatch, window: asyncio.Semaphore
    ) -> None:
        try:
            await client.publish(
                batch.topic, batch.payload, qos=1, timeout=self._settings.publish_timeout_s
            )
            self._outbox.ack(list(batch.row_ids))
            self.published_batches += 1
        finally:
            window.release()
