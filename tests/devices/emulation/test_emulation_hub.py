"""The radio hub across processes: hub, wearables and gateway each in their own process."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner

from devices.emulation.backend import BumbleCentral, BumbleClient, scanner_options
from devices.emulation.errors import HubError
from devices.emulation.hub import Hub, HubAir, HubEndpoint, hub_central
from devices.gatt import parse_heart_rate_measurement
from devices.gatt.uuids import HEART_RATE_MEASUREMENT_UUID, HEART_RATE_SERVICE_UUID

from .probe import PROBE_ADDRESS, make_probe

STRAP_SCENARIO = """
[session]
patient = "hub-test"
seed = 3
duration_min = 600

[devices.heart_rate]
address = "C2:00:00:00:00:01"
"""
PROCESS_START_TIMEOUT_S = 20


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
    async with asyncio.timeout(10):
        await process.communicate()


@pytest.fixture
async def hub_process() -> AsyncIterator[HubEndpoint]:
    process = await _spawn("-m", "devices.emulation.hub", "--listen", "127.0.0.1:0")
    try:
        assert process.stdout is not None
        async with asyncio.timeout(PROCESS_START_TIMEOUT_S):
            line = (await process.stdout.readline()).decode()
        assert line.startswith("listening on "), line
        yield HubEndpoint.parse(line.removeprefix("listening on ").strip())
    finally:
        await _stop(process)
    assert process.returncode == 0


@contextlib.asynccontextmanager
async def wearables_process(
    endpoint: HubEndpoint, scenario: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await _spawn(
        "-m",
        "devices.emulation",
        "--hub",
        str(endpoint),
        "--scenario",
        str(scenario),
        "--speed",
        "60",
    )
    try:
        yield process
    finally:
        await _stop(process)


async def _find_strap(central: BumbleCentral) -> object:
    device = await BleakScanner.find_device_by_filter(
        lambda _d, adv: HEART_RATE_SERVICE_UUID in adv.service_uuids,
        timeout=PROCESS_START_TIMEOUT_S,
        **scanner_options(central),
    )
    assert device is not None
    return device


async def test_gateway_receives_strap_notifications_through_a_hub_process(
    hub_process: HubEndpoint, tmp_path: Path
) -> None:
    scenario = tmp_path / "strap.toml"
    scenario.write_text(STRAP_SCENARIO)
    readings = []
    disconnected = asyncio.Event()
    async with (
        wearables_process(hub_process, scenario) as wearables,
        hub_central(hub_process) as central,
    ):
        device = await _find_strap(central)
        client = BleakClient(
            device,  # type: ignore[arg-type]
            lambda _c: disconnected.set(),
            backend=BumbleClient,
            bumble=central,
            timeout=5,
        )
        started = time.monotonic()
        await client.connect()
        connect_s = time.monotonic() - started
        await client.start_notify(
            HEART_RATE_MEASUREMENT_UUID,
            lambda _c, data: readings.append(parse_heart_rate_measurement(data)),
        )
        async with asyncio.timeout(5):
            while len(readings) < 20:
                await asyncio.sleep(0.01)
        # The wearables process dies: its controller leaves the air, the link ends (0x08).
        wearables.kill()
        async with asyncio.timeout(5):
            await disconnected.wait()

    assert connect_s < 1.0
    assert not client.is_connected
    assert all(r.sensor_contact is True and 40 < r.bpm < 120 for r in readings)
    assert any(r.rr_intervals_ms for r in readings)


async def test_in_process_hub_serves_tcp_participants() -> None:
    hub = Hub()
    try:
        endpoint = await hub.listen(HubEndpoint("127.0.0.1", 0))
        await make_probe(hub)  # a device on the hub's own air
        async with hub_central(endpoint) as central:
            device = await BleakScanner.find_device_by_address(
                PROBE_ADDRESS, timeout=2, **scanner_options(central)
            )
            assert device is not None
            async with BleakClient(device, backend=BumbleClient, bumble=central) as client:
                connected = client.is_connected
    finally:
        await hub.aclose()

    assert connected


async def test_hub_air_reports_an_unreachable_hub() -> None:
    hub = Hub()
    endpoint = await hub.listen(HubEndpoint("127.0.0.1", 0))
    await hub.aclose()  # nobody listens there any more

    with pytest.raises(HubError, match="cannot reach the hub"):
        async with HubAir(endpoint) as air:
            await air.open_device(name="x", address="C0:00:00:00:00:09")


@pytest.mark.parametrize("text", ["localhost", ":80", "host:port", "host:70000"])
def test_hub_endpoint_rejects_malformed_text(text: str) -> None:
    with pytest.raises(HubError, match="HOST:PORT"):
        HubEndpoint.parse(text)


def test_hub_endpoint_round_trips() -> None:
    assert str(HubEndpoint.parse("127.0.0.1:7878")) == "127.0.0.1:7878"
