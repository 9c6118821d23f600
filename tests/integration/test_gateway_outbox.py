"""The gateway's outbox and publisher against a real Mosquitto: broker outages and gateway
restarts lose nothing, and every (device, seq) arrives."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiomqtt
import msgspec
import pytest

from devices.gateway.app import Gateway
from devices.gateway.backoff import Backoff
from devices.gateway.config import DeviceConfig, GatewaySettings
from devices.gateway.link import BleBackend
from devices.gateway.observations import Observation
from vigil.mqtt_settings import MqttSettings
from vigil.services.mosquitto import Mosquitto
from vigil.wire import GatewayStatus, ReadingBatch, Topics

pytestmark = pytest.mark.integration

OUTAGE_S = 30.0


def _settings(port: int, root: str, outbox: Path) -> GatewaySettings:
    return GatewaySettings(
        id="gw-test",
        mqtt=MqttSettings(port=port, root=root, keepalive_s=5),
        devices=(
            DeviceConfig(id="hr-1", kind="hr_strap", session="S-1"),
            DeviceConfig(id="ox-1", kind="pulse_oximeter", session="S-1"),
        ),
        outbox=outbox,
        backoff=Backoff(first_s=0.2, max_s=1.0),
        publish_timeout_s=5,
    )


class Collector:
    """A persistent-session subscriber that survives broker restarts and keeps every reading."""

    def __init__(self, port: int, root: str) -> None:
        self.port, self.topics = port, Topics(root)
        self.seen: list[tuple[str, int, bool]] = []
        self.statuses: list[GatewayStatus] = []
        self.ready = asyncio.Event()

    async def run(self) -> None:
        decoder = msgspec.json.Decoder(ReadingBatch)
        while True:
            with contextlib.suppress(aiomqtt.MqttError):
                async with aiomqtt.Client(
                    "127.0.0.1",
                    self.port,
                    identifier=f"collector-{self.topics.root}",
                    clean_session=False,
                ) as client:
                    await client.subscribe(self.topics.readings_filter(), qos=1)
                    await client.subscribe(self.topics.gateway_status("gw-test"), qos=1)
                    self.ready.set()
                    async for message in client.messages:
                        if message.topic.matches(self.topics.gateway_status("gw-test")):
                            self.statuses.append(
                                msgspec.json.decode(message.payload, type=GatewayStatus)
                            )  # type: ignore[arg-type]
                            continue
                        batch = decoder.decode(message.payload)  # type: ignore[arg-type]
                        self.seen += [(batch.device, r.seq, r.historical) for r in batch.readings]
            await asyncio.sleep(0.2)

    def unique(self) -> set[tuple[str, int]]:
        return {(device, seq) for device, seq, _ in self.seen}


async def _until(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.05)


def _record(gateway: Gateway, device: DeviceConfig, hr: float) -> None:
    gateway.record(device, Observation(values={"hr": hr}), time.time(), False)


async def test_a_30_s_broker_outage_loses_nothing_and_late_readings_are_historical(
    own_mosquitto: Mosquitto, mqtt_root: str, tmp_path: Path
) -> None:
    gateway = Gateway(
        _settings(own_mosquitto.port, mqtt_root, tmp_path / "outbox.sqlite"), BleBackend()
    )
    gateway.links.clear()  # readings are recorded directly: this test is about the MQTT side
    collector = Collector(own_mosquitto.port, mqtt_root)
    async with asyncio.TaskGroup() as group:
        collect = group.create_task(collector.run())
        await asyncio.wait_for(collector.ready.wait(), 10)
        run = group.create_task(gateway.run())
        await asyncio.wait_for(gateway.publisher.connected.wait(), 10)
        hr, ox = gateway.settings.devices
        for i in range(20):
            _record(gateway, hr, 60 + i)
            _record(gateway, ox, 90 + i)
        await _until(lambda: len(collector.unique()) == 40, 10)

        own_mosquitto.stop()
        outage_ends = time.monotonic() + OUTAGE_S
        while time.monotonic() < outage_ends:
            _record(gateway, hr, 70)
            _record(gateway, ox, 95)
            await asyncio.sleep(0.5)
        assert gateway.outbox.depth >= 100
        own_mosquitto.start()

        await _until(lambda: len(collector.unique()) == 40 + 2 * round(OUTAGE_S / 0.5), 30)
        expected = {(d, s) for d in ("hr-1", "ox-1") for s in range(20 + round(OUTAGE_S / 0.5))}
        assert collector.unique() == expected
        await _until(lambda: gateway.outbox.depth == 0, 10)
        # Those recorded early in the outage were published more than `lateness_s` late.
        late = {(d, s) for d, s, historical in collector.seen if historical}
        assert ("hr-1", 20) in late
        assert ("hr-1", 0) not in late
        assert collector.statuses[-1].state == "online"
        run.cancel()
        await asyncio.gather(run, return_exceptions=True)
        collect.cancel()
    retained = subprocess.run(
        [
            "mosquitto_sub",
            "-p",
            str(own_mosquitto.port),
            "-t",
            Topics(mqtt_root).gateway_status("gw-test"),
            "-C",
            "1",
            "-W",
            "5",
        ],
        capture_output=True,
        check=True,
    ).stdout
    assert msgspec.json.decode(retained, type=GatewayStatus).state == "offline"


GATEWAY_CHILD = """
import asyncio, sys, time
from pathlib import Path
from devices.gateway.app import Gateway
from devices.gateway.config import DeviceConfig, GatewaySettings
from devices.gateway.link import BleBackend
from devices.gateway.observations import Observation
from vigil.mqtt_settings import MqttSettings

port, root, outbox, count = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
settings = GatewaySettings(id="gw-test", mqtt=MqttSettings(port=port, root=root),
                           devices=(DeviceConfig(id="hr-1", kind="hr_strap", session="S-1"),), outbox=outbox)

async def main():
    gateway = Gateway(settings, BleBackend())
    gateway.links.clear()
    task = asyncio.create_task(gateway.run())
    for i in range(count):
        gateway.record(settings.devices[0], Observation(values={"hr": 60.0}), time.time(), False)
    print("recorded", flush=True)
    await task

asyncio.run(main())
"""


async def test_a_killed_gateway_drains_its_outbox_after_restart(
    own_mosquitto: Mosquitto, mqtt_root: str, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox.sqlite"
    own_mosquitto.stop()  # nothing can be published: everything waits in the outbox
    argv = [sys.executable, "-c", GATEWAY_CHILD, str(own_mosquitto.port), mqtt_root, str(outbox)]
    child = subprocess.Popen([*argv, "500"], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "recorded"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    own_mosquitto.start()
    collector = Collector(own_mosquitto.port, mqtt_root)
    collect = asyncio.create_task(collector.run())
    await asyncio.wait_for(collector.ready.wait(), 10)
    restarted = subprocess.Popen([*argv, "0"], stdout=subprocess.DEVNULL)
    try:
        await _until(lambda: len(collector.unique()) == 500, 30)
        assert collector.unique() == {("hr-1", s) for s in range(500)}
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(10)
        collect.cancel()
        await asyncio.gather(collect, return_exceptions=True)
