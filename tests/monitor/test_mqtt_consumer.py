"""The processor's MQTT link against the real Mosquitto: acknowledgement after handling,
redelivery of what was not acknowledged, ordered publishing beyond the broker's window."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest

from monitor.errors import MqttUnavailableError
from monitor.mqtt_codec import Inbound
from monitor.mqtt_consumer import Handled, MqttLink
from vigil.mqtt_settings import MqttSettings
from vigil.services.endpoints import MqttEndpoint
from vigil.services.mosquitto import Mosquitto
from vigil.services.process import free_port

pytestmark = pytest.mark.integration


class _Collector:
    def __init__(self, *, fail: set[bytes] | None = None) -> None:
        self.got: list[bytes] = []
        self.fail = fail or set()
        self.gate: asyncio.Future[None] | None = None
        self.arrived = asyncio.Event()

    def handle(self, messages: Sequence[Inbound]) -> Handled:
        self.got += [m.payload for m in messages]
        self.arrived.set()
        failed = frozenset(i for i, m in enumerate(messages) if m.payload in self.fail)
        return Handled(done=self.gate, failed=failed)

    async def wait_for(self, n: int) -> None:
        async with asyncio.timeout(10):
            while len(self.got) < n:
                self.arrived.clear()
                await self.arrived.wait()


def _settings(mosquitto: MqttEndpoint) -> MqttSettings:
    return MqttSettings(host=mosquitto.host, port=mosquitto.port)


async def _publish_all(mosquitto: MqttEndpoint, topic: str, payloads: list[bytes]) -> None:
    async with MqttLink(
        _settings(mosquitto), client_id=f"pub-{uuid.uuid4().hex[:8]}", handler=_Collector().handle,
        persistent=False,
    ) as link:  # fmt: skip
        for payload in payloads:
            link.publish(topic, payload)
        await link.settle(10)
        assert link.unacknowledged_publishes == 0


async def test_failed_and_unfinished_messages_are_redelivered_and_the_rest_not(
    mosquitto: MqttEndpoint, mqtt_root: str
) -> None:
    topic, client_id = f"{mqtt_root}/x", f"sub-{uuid.uuid4().hex[:8]}"
    first = _Collector(fail={b"2"})
    async with MqttLink(
        _settings(mosquitto), client_id=client_id, handler=first.handle, persistent=True
    ) as link:
        await link.subscribe([topic])
        await _publish_all(mosquitto, topic, [b"0", b"1", b"2", b"3"])
        await first.wait_for(4)
        await link.settle(5)
        first.gate = asyncio.get_running_loop().create_future()  # never done: never acked
        await _publish_all(mosquitto, topic, [b"4"])
        await first.wait_for(5)
        assert link.handling == 1
    assert first.got == [b"0", b"1", b"2", b"3", b"4"]

    again = _Collector()
    async with MqttLink(
        _settings(mosquitto), client_id=client_id, handler=again.handle, persistent=True
    ) as link:
        await again.wait_for(2)
        await asyncio.sleep(0.3)
        await link.unsubscribe([topic])
    # "2" failed (an internal error) and "4" was still being handled: only they come back.
    assert sorted(again.got) == [b"2", b"4"]


async def test_publishes_beyond_the_brokers_window_arrive_in_order(
    mosquitto: MqttEndpoint, mqtt_root: str
) -> None:
    topic = f"{mqtt_root}/many"
    sink = _Collector()
    async with MqttLink(
        _settings(mosquitto), client_id=f"sink-{uuid.uuid4().hex[:8]}", handler=sink.handle,
        persistent=False,
    ) as link:  # fmt: skip
        await link.subscribe([topic])
        payloads = [str(i).encode() for i in range(500)]  # the broker allows 20 in flight
        await _publish_all(mosquitto, topic, payloads)
        await sink.wait_for(500)
    assert sink.got == payloads


async def test_a_broker_that_is_not_there_is_a_clear_error() -> None:
    settings = MqttSettings(host="127.0.0.1", port=free_port())
    with pytest.raises(MqttUnavailableError, match="cannot connect"):
        async with MqttLink(
            settings, client_id="x", handler=_Collector().handle, persistent=False,
            connect_timeout_s=2,
        ):  # fmt: skip
            pass


async def test_pending_publishes_of_a_lost_link_are_handed_over(
    own_mosquitto: Mosquitto, mqtt_root: str
) -> None:
    broker = own_mosquitto
    settings = MqttSettings(host="127.0.0.1", port=broker.port)
    async with MqttLink(
        settings, client_id="lost", handler=_Collector().handle, persistent=False
    ) as link:
        broker.stop()
        async with asyncio.timeout(10):
            await link.lost
        link.publish(f"{mqtt_root}/a", b"after")
    assert link.pending_publishes() == [(f"{mqtt_root}/a", b"after", 1, False)]
