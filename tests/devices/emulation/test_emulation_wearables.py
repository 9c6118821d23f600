"""The emulated wearables as the gateway sees them: through bleak, on the bumble backend.

Each test starts the wearables at an interesting moment of a scenario with the clock paused,
links up and subscribes while time stands still, then lets time run fast: no race with the
scenario however slow the machine is.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import statistics
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice

from devices.emulation.backend import BumbleCentral, BumbleClient, scanner_options
from devices.emulation.clock import ScaledClock
from devices.emulation.radio import LocalRadio
from devices.emulation.scenario import (
    DeviceKind,
    DeviceSpec,
    LowBattery,
    Motion,
    Scenario,
    SensorOff,
    SessionModel,
    Vitals,
    WalkAway,
)
from devices.emulation.wearables import start_wearables
from devices.gatt import (
    PlxDeviceSensorStatus,
    PlxMeasurementStatus,
    parse_battery_level,
    parse_blood_pressure_feature,
    parse_blood_pressure_measurement,
    parse_heart_rate_measurement,
    parse_intermediate_cuff_pressure,
    parse_plx_continuous,
    parse_plx_features,
    parse_plx_spot_check,
    uuids,
)

STRAP = DeviceSpec(
    kind=DeviceKind.HEART_RATE,
    name="HRM-TEST",
    address="C3:00:00:00:00:01",
    model="EMU-HRM-1",
    serial="EMU0001",
    battery_percent=90,
)
CUFF = DeviceSpec(
    kind=DeviceKind.BLOOD_PRESSURE,
    name="BPM-TEST",
    address="C3:00:00:00:00:02",
    first_cycle_s=60,
    cycle_interval_s=300,
    inflation_s=30,
)
OXIMETER = DeviceSpec(
    kind=DeviceKind.PULSE_OXIMETER,
    name="PLX-TEST",
    address="C3:00:00:00:00:03",
    spot_check_interval_s=120,
)
SCENARIO = Scenario(
    patient="wearables-test",
    seed=11,
    duration_s=3600,
    start=datetime(2025, 1, 6, 9, 0, tzinfo=UTC),
    baseline=Vitals(heart_rate_bpm=70, systolic_mmhg=120, diastolic_mmhg=80, spo2_percent=97),
    events=(
        LowBattery(start_s=180, device=DeviceKind.HEART_RATE, battery_percent=8),
        SensorOff(start_s=300, duration_s=120, device=DeviceKind.HEART_RATE, drop_link_after_s=25),
        WalkAway(start_s=600, duration_s=60),
        Motion(start_s=900, duration_s=60, devices=frozenset({DeviceKind.PULSE_OXIMETER})),
        SensorOff(start_s=1200, duration_s=60, device=DeviceKind.PULSE_OXIMETER),
    ),
    devices=(STRAP, CUFF, OXIMETER),
)


@dataclass
class Run:
    central: BumbleCentral
    clock: ScaledClock
    model: SessionModel = field(default_factory=lambda: SessionModel(SCENARIO))

    async def find(self, kind: DeviceKind, timeout: float = 2) -> BLEDevice:
        spec = SCENARIO.device(kind)
        assert spec is not None
        device = await BleakScanner.find_device_by_address(
            spec.address, timeout=timeout, **scanner_options(self.central)
        )
        assert device is not None, f"{kind} not advertising at t={self.clock.now():.0f}"
        return device

    def client(
        self, device: BLEDevice, on_disconnect: Callable[[], None] | None = None
    ) -> BleakClient:
        return BleakClient(
            device,
            None if on_disconnect is None else lambda _c: on_disconnect(),
            backend=BumbleClient,
            bumble=self.central,
            timeout=2,
        )


class StartAt(Protocol):
    async def __call__(self, start_s: float, speed: float = 60.0) -> Run: ...


@pytest.fixture
async def start_at(radio: LocalRadio, central: BumbleCentral) -> AsyncIterator[StartAt]:
    tasks: list[asyncio.Task[None]] = []

    async def start(start_s: float, speed: float = 60.0) -> Run:
        clock = ScaledClock(speed, start_s=start_s, paused=True)
        wearables = await start_wearables(radio, SCENARIO, clock)
        tasks.extend(asyncio.create_task(w.run()) for w in wearables)
        return Run(central=central, clock=clock)

    yield start
    for task in tasks:
        task.cancel()
    async with asyncio.timeout(5):  # a wearable that ignores cancellation fails the test
        await asyncio.gather(*tasks, return_exceptions=True)


async def wait_for(condition: Callable[[], bool], timeout: float = 3) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


# Heart-rate strap --------------------------------------------------------------------------------


async def test_strap_exposes_its_services_and_identity(start_at: StartAt) -> None:
    run = await start_at(0)
    async with run.client(await run.find(DeviceKind.HEART_RATE)) as client:
        services = sorted(s.uuid for s in client.services)
        location = await client.read_gatt_char(uuids.BODY_SENSOR_LOCATION_UUID)
        battery = parse_battery_level(await client.read_gatt_char(uuids.BATTERY_LEVEL_UUID))
        identity = [
            (await client.read_gatt_char(u)).decode()
            for u in (
                uuids.MANUFACTURER_NAME_STRING_UUID,
                uuids.MODEL_NUMBER_STRING_UUID,
                uuids.SERIAL_NUMBER_STRING_UUID,
                uuids.FIRMWARE_REVISION_STRING_UUID,
            )
        ]
        hrm = client.services.get_characteristic(uuids.HEART_RATE_MEASUREMENT_UUID)
        level = client.services.get_characteristic(uuids.BATTERY_LEVEL_UUID)

    assert services == sorted(
        [
            "00001800-0000-1000-8000-00805f9b34fb",
            "00001801-0000-1000-8000-00805f9b34fb",
            uuids.HEART_RATE_SERVICE_UUID,
            uuids.BATTERY_SERVICE_UUID,
            uuids.DEVICE_INFORMATION_SERVICE_UUID,
        ]
    )
    assert location == bytearray([0x01])  # chest
    assert battery == 90
    assert identity == ["Vigil Emulation", "EMU-HRM-1", "EMU0001", "1.0.0"]
    assert hrm is not None
    assert hrm.properties == ["notify"]
    assert level is not None
    assert sorted(level.properties) == ["notify", "read"]


async def test_strap_notifies_about_once_a_second_with_rr_intervals(
    start_at: StartAt,
) -> None:
    run = await start_at(0)
    received: list[tuple[float, bytes]] = []
    async with run.client(await run.find(DeviceKind.HEART_RATE)) as client:
        await client.start_notify(
            uuids.HEART_RATE_MEASUREMENT_UUID,
            lambda _c, data: received.append((run.clock.now(), bytes(data))),
        )
        run.clock.resume()
        await wait_for(lambda: len(received) >= 30)

    readings = [parse_heart_rate_measurement(data) for _, data in received]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(received)]
    rr = [ms for r in readings for ms in r.rr_intervals_ms]
    assert statistics.median(gaps) == pytest.approx(1.0, abs=0.2)
    assert all(r.sensor_contact is True for r in readings)
    assert all(
        abs(r.bpm - run.model.vitals(t).heart_rate_bpm) < 1
        for (t, _), r in zip(received, readings, strict=True)
    )
    assert 60_000 / statistics.mean(rr) == pytest.approx(70, abs=8)


async def test_strap_reports_lost_contact_then_drops_the_link_and_comes_back(
    start_at: StartAt,
) -> None:
    run = await start_at(295, speed=120)  # contact lost at 300 s, link dropped at 325 s
    received: list[tuple[float, bytes]] = []
    dropped_at: list[float] = []
    client = run.client(
        await run.find(DeviceKind.HEART_RATE), lambda: dropped_at.append(run.clock.now())
    )
    await client.connect()
    await client.start_notify(
        uuids.HEART_RATE_MEASUREMENT_UUID,
        lambda _c, data: received.append((run.clock.now(), bytes(data))),
    )
    run.clock.resume()
    await wait_for(lambda: bool(dropped_at))
    run.clock.pause()
    silent = await BleakScanner.discover(timeout=0.2, **scanner_options(run.central))
    run.clock.resume()
    back = await run.find(DeviceKind.HEART_RATE, timeout=5)  # contact back at 420 s

    after_loss = [parse_heart_rate_measurement(d) for t, d in received if t > 301]
    assert after_loss
    assert all(r.sensor_contact is False and r.bpm == 0 for r in after_loss)
    assert 325 <= dropped_at[0] < 335
    assert STRAP.address not in [d.address for d in silent]
    assert run.clock.now() >= 419
    assert back.address == STRAP.address


async def test_walking_away_ends_links_with_a_disconnect_and_devices_come_back(
    start_at: StartAt,
) -> None:
    run = await start_at(595, speed=120)  # away from 600 s to 660 s
    dropped_at: list[float] = []
    client = run.client(
        await run.find(DeviceKind.PULSE_OXIMETER), lambda: dropped_at.append(run.clock.now())
    )
    await client.connect()
    run.clock.resume()
    await wait_for(lambda: bool(dropped_at))
    back = await run.find(DeviceKind.PULSE_OXIMETER, timeout=5)
    async with run.client(back) as again:
        reconnected = again.is_connected

    assert 600 <= dropped_at[0] < 610
    assert not client.is_connected
    assert run.clock.now() >= 659
    assert reconnected


async def test_battery_level_is_notified_when_it_changes(start_at: StartAt) -> None:
    run = await start_at(175, speed=120)  # the strap's battery reads 8 % from 180 s
    levels: list[int] = []
    async with run.client(await run.find(DeviceKind.HEART_RATE)) as client:
        await client.start_notify(
            uuids.BATTERY_LEVEL_UUID, lambda _c, data: levels.append(parse_battery_level(data))
        )
        run.clock.resume()
        await wait_for(lambda: bool(levels))

    assert levels == [8]


# Blood-pressure cuff -----------------------------------------------------------------------------


async def test_cuff_notifies_pressure_while_inflating_then_indicates_and_disconnects(
    start_at: StartAt,
) -> None:
    run = await start_at(55)  # advertising from 45 s, inflating 60-90 s
    pressures: list[float] = []
    measurements: list[bytes] = []
    disconnected = asyncio.Event()
    client = run.client(await run.find(DeviceKind.BLOOD_PRESSURE), disconnected.set)
    await client.connect()
    feature = parse_blood_pressure_feature(
        await client.read_gatt_char(uuids.BLOOD_PRESSURE_FEATURE_UUID)
    )
    await client.start_notify(
        uuids.INTERMEDIATE_CUFF_PRESSURE_UUID,
        lambda _c, data: pressures.append(parse_intermediate_cuff_pressure(data).systolic),
    )
    await client.start_notify(
        uuids.BLOOD_PRESSURE_MEASUREMENT_UUID, lambda _c, data: measurements.append(bytes(data))
    )
    run.clock.resume()
    async with asyncio.timeout(5):
        await disconnected.wait()  # the cuff ends the link once its reading is confirmed

    cycle = run.model.cuff_cycles()[0]
    reading = parse_blood_pressure_measurement(measurements[0])
    peak = pressures.index(max(pressures))
    assert feature.body_movement_detection
    assert len(measurements) == 1
    assert (reading.systolic, reading.diastolic, reading.mean_arterial) == (
        cycle.systolic_mmhg,
        cycle.diastolic_mmhg,
        cycle.mean_arterial_mmhg,
    )
    assert reading.pulse_rate == cycle.pulse_rate_bpm
    assert reading.timestamp == datetime(2025, 1, 6, 9, 1, 30, tzinfo=UTC)
    assert reading.status is not None
    assert not reading.status.body_movement
    assert len(pressures) >= 20
    assert pressures[:peak] == sorted(pressures[:peak])
    assert pressures[peak:] == sorted(pressures[peak:], reverse=True)
    assert max(pressures) > cycle.systolic_mmhg


async def test_cuff_indicates_stored_readings_when_a_central_connects_later(
    start_at: StartAt,
) -> None:
    run = await start_at(80, speed=120)  # nobody connected for the 60-90 s cycle
    run.clock.resume()
    await run.clock.sleep_until(95)
    run.clock.pause()
    measurements: list[bytes] = []
    disconnected = asyncio.Event()
    client = run.client(await run.find(DeviceKind.BLOOD_PRESSURE), disconnected.set)
    await client.connect()
    await client.start_notify(
        uuids.BLOOD_PRESSURE_MEASUREMENT_UUID, lambda _c, data: measurements.append(bytes(data))
    )
    async with asyncio.timeout(3):
        await disconnected.wait()

    readings = [parse_blood_pressure_measurement(m) for m in measurements]
    assert [r.timestamp for r in readings] == [datetime(2025, 1, 6, 9, 1, 30, tzinfo=UTC)]


# Pulse oximeter ---------------------------------------------------------------------------------


async def test_oximeter_notifies_continuously_and_indicates_spot_checks(
    start_at: StartAt,
) -> None:
    run = await start_at(115)  # spot-check at 120 s
    continuous: list[bytes] = []
    spot_checks: list[bytes] = []
    async with run.client(await run.find(DeviceKind.PULSE_OXIMETER)) as client:
        features = parse_plx_features(await client.read_gatt_char(uuids.PLX_FEATURES_UUID))
        await client.start_notify(
            uuids.PLX_CONTINUOUS_MEASUREMENT_UUID, lambda _c, d: continuous.append(bytes(d))
        )
        await client.start_notify(
            uuids.PLX_SPOT_CHECK_MEASUREMENT_UUID, lambda _c, d: spot_checks.append(bytes(d))
        )
        run.clock.resume()
        await wait_for(lambda: bool(spot_checks) and len(continuous) >= 10)

    readings = [parse_plx_continuous(d) for d in continuous]
    spot = parse_plx_spot_check(spot_checks[0])
    assert features.measurement_status_support is not None
    assert (
        PlxMeasurementStatus.QUESTIONABLE_MEASUREMENT_DETECTED
        in features.measurement_status_support
    )
    assert all(95 <= r.spo2 <= 99 for r in readings)
    assert all(r.measurement_status == PlxMeasurementStatus.VALIDATED_DATA for r in readings)
    assert spot.timestamp == datetime(2025, 1, 6, 9, 2, 0, tzinfo=UTC)
    assert spot.device_clock_set


async def test_oximeter_flags_a_probe_off_the_finger(
    start_at: StartAt,
) -> None:
    run = await start_at(1195)  # probe off 1200-1260 s
    received: list[tuple[float, bytes]] = []
    async with run.client(await run.find(DeviceKind.PULSE_OXIMETER)) as client:
        await client.start_notify(
            uuids.PLX_CONTINUOUS_MEASUREMENT_UUID,
            lambda _c, d: received.append((run.clock.now(), bytes(d))),
        )
        run.clock.resume()
        await wait_for(lambda: run.clock.now() > 1215)

    off = [parse_plx_continuous(d) for t, d in received if t > 1201]
    assert off
    assert all(math.isnan(r.spo2) and math.isnan(r.pulse_rate) for r in off)
    assert all(r.measurement_status == PlxMeasurementStatus.MEASUREMENT_UNAVAILABLE for r in off)
    assert all(r.device_sensor_status == PlxDeviceSensorStatus.SENSOR_DISCONNECTED for r in off)
