"""The gateway end to end against bumble-emulated wearables through the real bleak API and a
real Mosquitto: all three kinds arrive with their values; a wearable that walks away and comes
back is found, reconnected and re-subscribed; a 30 s broker outage loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import aiomqtt
import msgspec
import pytest

from devices.emulation.backend import BumbleCentral, BumbleClient, BumbleScanner
from devices.emulation.clock import ScaledClock
from devices.emulation.radio import LocalRadio
from devices.emulation.scenario import DeviceKind
from devices.emulation.scenario_file import parse_scenario
from devices.emulation.wearables import run_patient
from devices.gateway.app import Gateway
from devices.gateway.backoff import Backoff
from devices.gateway.config import DeviceConfig, GatewaySettings
from devices.gateway.link import BleBackend
from vigil.mqtt_settings import MqttSettings
from vigil.services.mosquitto import Mosquitto
from vigil.wire import DeviceStatus, ReadingBatch, Topics

pytestmark = pytest.mark.integration

SPEED = 60.0
OUTAGE_S = 30.0
KINDS = {
    DeviceKind.HEART_RATE: "hr_strap",
    DeviceKind.BLOOD_PRESSURE: "bp_cuff",
    DeviceKind.PULSE_OXIMETER: "pulse_oximeter",
}

SCENARIO = {
    "session": {"patient": "it-01", "seed": 3, "duration_min": 120},
    "baseline": {
        "heart_rate_bpm": 72,
        "systolic_mmhg": 124,
        "diastolic_mmhg": 79,
        "spo2_percent": 97.5,
    },
    "devices": {
        "heart_rate": {},
        "blood_pressure": {"cycle_interval_min": 2, "first_cycle_min": 0.5, "inflation_s": 20},
        "pulse_oximeter": {},
    },
    # At 60x: the patient walks away at 6 s of real time and is back at 9 s.
    "events": [{"kind": "walk_away", "at_min": 6, "duration_min": 3}],
}


class Collector:
    def __init__(self) -> None:
        self.batches: list[ReadingBatch] = []
        self.statuses: list[DeviceStatus] = []

    def readings(self, device: str) -> list[tuple[float, dict[str, float]]]:
        return [
            (r.t, dict(r.values)) for b in self.batches if b.device == device for r in b.readings
        ]


async def _collect(port: int, topics: Topics, into: Collector, ready: asyncio.Event) -> None:
    """A persistent-session subscriber that rides out broker restarts."""
    while True:
        with contextlib.suppress(aiomqtt.MqttError):
            async with aiomqtt.Client(
                "127.0.0.1", port, identifier=f"collector-{topics.root}", clean_session=False
            ) as client:
                await client.subscribe(topics.readings_filter(), qos=1)
                await client.subscribe(topics.device_status("+"), qos=1)
                ready.set()
                async for message in client.messages:
                    payload = message.payload
                    assert isinstance(payload, bytes)
                    if message.topic.matches(topics.device_status("+")):
                        into.statuses.append(msgspec.json.decode(payload, type=DeviceStatus))
                    else:
                        into.batches.append(msgspec.json.decode(payload, type=ReadingBatch))
        await asyncio.sleep(0.2)


async def _until(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.05)


async def test_three_wearables_stream_through_the_gateway_survive_a_walk_away_and_a_broker_outage(
    own_mosquitto: Mosquitto, mqtt_root: str, tmp_path: Path
) -> None:
    scenario = parse_scenario(SCENARIO)
    devices = tuple(
        DeviceConfig(
            id=f"{KINDS[spec.kind].split('_')[0]}-it",
            kind=KINDS[spec.kind],  # type: ignore[arg-type]
            session="S-IT-1",
            address=spec.address,
        )
        for spec in scenario.devices
    )
    settings = GatewaySettings(
        id="gw-it",
        mqtt=MqttSettings(port=own_mosquitto.port, root=mqtt_root),
        devices=devices,
        outbox=tmp_path / "outbox.sqlite",
        backoff=Backoff(first_s=0.1, max_s=0.5),
        scan_timeout_s=2,
    )
    topics = Topics(mqtt_root)
    collected, ready = Collector(), asyncio.Event()
    async with LocalRadio() as radio:
        central = BumbleCentral(
            await radio.open_device(name="gateway", address="F0:00:00:00:00:01")
        )
        ble = BleBackend(
            scanner_kwargs={"backend": BumbleScanner, "bumble": central},
            client_kwargs={"backend": BumbleClient, "bumble": central},
        )
        gateway = Gateway(settings, ble)
        tasks = [asyncio.create_task(_collect(own_mosquitto.port, topics, collected, ready))]
        await asyncio.wait_for(ready.wait(), 10)
        clock = ScaledClock(SPEED)
        tasks.append(
            asyncio.create_task(run_patient(radio, scenario, clock, advertising_interval_ms=20))
        )
        tasks.append(asyncio.create_task(gateway.run()))
        try:
            hr = next(d.id for d in devices if d.kind == "hr_strap")
            ox = next(d.id for d in devices if d.kind == "pulse_oximeter")
            bp = next(d.id for d in devices if d.kind == "bp_cuff")
            # Live values of all three kinds, close to the scenario's baseline.
            await _until(
                lambda: (
                    collected.readings(hr)
                    and collected.readings(ox)
                    and any("sbp" in v for _, v in collected.readings(bp))
                ),
                30,
            )
            hr_values = [v["hr"] for _, v in collected.readings(hr)]
            assert all(40 < value < 110 for value in hr_values)
            assert all(90 <= v["spo2"] <= 100 for _, v in collected.readings(ox))
            bp_full = [v for _, v in collected.readings(bp) if "sbp" in v]
            assert all(100 < v["sbp"] < 150 and 60 < v["dbp"] < 100 for v in bp_full)

            # The walk-away: the strap's link ends, the gateway says so, then finds it again.
            await _until(
                lambda: any(
                    s.device == hr and s.state == "disconnected" for s in collected.statuses
                ),
                20,
            )
            gone_at = time.time()
            await _until(lambda: any(t > gone_at + 1 for t, _ in collected.readings(hr)), 30)
            link = next(link for link in gateway.links if link.device.id == hr)
            assert link.counters.connections >= 2
            assert link.counters.malformed == 0
            connected = [s for s in collected.statuses if s.device == hr and s.state == "connected"]
            assert connected[-1].battery_pct is not None
            assert connected[-1].model

            # The broker goes away for 30 s while the wearables keep notifying.
            own_mosquitto.stop()
            await asyncio.sleep(OUTAGE_S)
            assert gateway.outbox.depth > 100
            recorded_during_outage = gateway.outbox.depth
            own_mosquitto.start()
            await _until(lambda: gateway.outbox.depth == 0 or gateway.outbox.depth < 5, 60)
            await asyncio.sleep(1)
            assert recorded_during_outage > 0
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            central.close()
    # Nothing lost: every (device, seq) the gateway committed arrived, gap-free per device (a
    # reading whose PUBACK was lost may arrive twice: QoS 1; consumers deduplicate on seq).
    assert gateway.outbox.depth <= 5  # the last few may still be in flight when we stopped
    for device in devices:
        seqs = {r.seq for b in collected.batches if b.device == device.id for r in b.readings}
        assert seqs == set(range(len(seqs))), device.id
    late = [r for b in collected.batches for r in b.readings if r.historical]
    assert late  # those held through the outage arrived marked historical
