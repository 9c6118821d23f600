"""The hub's MQTT edge: subscribes to alarms, status, sessions and readings; publishes commands.

It reconnects with backoff and keeps a persistent session (`clean_session=False`), so QoS 1
alarm events published while the hub was briefly away are delivered when it is back. Readings
are subscribed at QoS 0: vitals missed during an outage are not worth replaying to a dashboard
(the processor stores them all).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Literal

import aiomqtt
import msgspec

from alerts.hub.errors import UpstreamUnavailableError
from alerts.hub.inbound import subscriptions
from vigil.mqtt_settings import NODELAY_SOCKET_OPTIONS, MqttSettings
from vigil.wire import Command, Topics

log = logging.getLogger(__name__)

_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0)
_SUBSCRIBE_TIMEOUT_S = 10.0


class MqttLink:
    def __init__(
        self,
        settings: MqttSettings,
        *,
        client_id: str,
        on_message: Callable[[str, bytes, float], None],
        on_state: Callable[[Literal["connected", "disconnected"]], None],
        publish_timeout_s: float = 5.0,
    ) -> None:
        self._settings = settings
        self._topics = Topics(settings.root)
        self._client_id = client_id
        self._on_message = on_message
        self._on_state = on_state
        self._publish_timeout_s = publish_timeout_s
        self._client: aiomqtt.Client | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                await self._session()
            except aiomqtt.MqttError as err:
                delay = _BACKOFF_S[min(failures, len(_BACKOFF_S) - 1)]
                log.warning(
                    "MQTT broker %s:%d unreachable (%s); retrying in %.1f s",
                    self._settings.host,
                    self._settings.port,
                    err,
                    delay,
                )
                failures += 1
                await asyncio.sleep(delay)
            else:
                failures = 0

    async def _session(self) -> None:
        settings = self._settings
        async with aiomqtt.Client(
            settings.host,
            settings.port,
            username=settings.username,
            password=settings.password,
            identifier=self._client_id,
            keepalive=settings.keepalive_s,
            clean_session=False,
            socket_options=NODELAY_SOCKET_OPTIONS,
        ) as client:
            readings = self._topics.readings_filter()
            for topic in subscriptions(self._topics):
                qos = 0 if topic == readings else 1
                await client.subscribe(topic, qos=qos, timeout=_SUBSCRIBE_TIMEOUT_S)
            self._client = client
            self._on_state("connected")
            log.info("subscribed to %s/# on %s:%d", self._topics.base, settings.host, settings.port)
            try:
                async for message in client.messages:
                    payload = message.payload
                    data = payload if isinstance(payload, bytes) else str(payload or "").encode()
                    self._on_message(message.topic.value, data, time.monotonic())
            finally:
                self._client = None
                self._on_state("disconnected")

    async def publish_command(self, command: Command) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK; `UpstreamUnavailableError` if not."""
        client = self._client
        if client is None:
            raise UpstreamUnavailableError("not connected to the MQTT broker")
        topic = self._topics.commands(command.session)
        try:
            await client.publish(
                topic, msgspec.json.encode(command), qos=1, timeout=self._publish_timeout_s
            )
        except (aiomqtt.MqttError, TimeoutError) as err:
            raise UpstreamUnavailableError(f"the broker did not take the command: {err}") from err
