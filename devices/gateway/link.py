"""One BLE device through bleak: find, connect, subscribe, record, and start over when it drops.

Notifications are re-armed on every connection (a reconnect never inherits subscriptions).
Failures back off with the pure policy in `backoff`; a device that connects, indicates and
disconnects (a BP cuff) simply goes round the loop again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError
from bleak_retry_connector import establish_connection

from devices.errors import MalformedPayload
from devices.gateway.bursts import historical_flags
from devices.gateway.config import DeviceConfig, GatewaySettings
from devices.gateway.observations import Observation
from devices.gateway.profiles import SERVICE_OF_KIND, SUBSCRIPTIONS, Subscription
from devices.gateway.status import StatusBoard
from devices.gatt import parse_battery_level, uuids
from vigil.privacy import mask_address
from vigil.wire import DeviceStatus

log = logging.getLogger(__name__)

# A cuff's burst of indications is over when it has been quiet this long.
BURST_QUIET_S = 1.5

Recorder = Callable[[DeviceConfig, Observation, float, bool], None]


@dataclass(frozen=True, slots=True)
class BleBackend:
    """The injection point: bleak's default backend in production, the emulated one in tests."""

    scanner_kwargs: dict[str, Any] = field(default_factory=dict)
    client_kwargs: dict[str, Any] = field(default_factory=dict)


class DeviceNotFoundError(BleakError):
    """The device did not advertise within the scan timeout."""


@dataclass
class LinkCounters:
    notifications: int = 0
    malformed: int = 0
    connections: int = 0


class DeviceLink:
    def __init__(  # noqa: PLR0913 - the link's collaborators, each injected
        self,
        device: DeviceConfig,
        settings: GatewaySettings,
        record: Recorder,
        statuses: StatusBoard,
        ble: BleBackend,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.device = device
        self._settings = settings
        self._record = record
        self._statuses = statuses
        self._ble = ble
        self._clock = clock
        self.counters = LinkCounters()
        self._log = logging.LoggerAdapter(log, {"device": device.id})
        self._battery: int | None = None
        self._model: str | None = None
        self._firmware: str | None = None
        self._last_seen: float | None = None
        self._burst: list[tuple[Observation, float]] = []
        self._burst_timer: asyncio.TimerHandle | None = None

    def _status(self, state: str, rssi: int | None = None) -> None:
        self._statuses.update(
            DeviceStatus(
                gateway=self._settings.id,
                session=self.device.session,
                device=self.device.id,
                kind=self.device.kind,
                state=state,  # type: ignore[arg-type]
                t=self._clock(),
                battery_pct=self._battery,
                rssi_dbm=rssi,
                last_seen=self._last_seen,
                model=self._model,
                firmware=self._firmware,
            )
        )

    async def run(self) -> None:
        attempt = 0
        while True:
            connected_for: float | None = None
            try:
                connected_for = await self._one_connection()
            except (BleakError, TimeoutError, OSError) as err:
                self._log.info("%s: %s", self.device.id, err)
            self._status("disconnected")
            attempt = self._settings.backoff.next_attempt(attempt, connected_for)
            await asyncio.sleep(self._settings.backoff.delay(attempt - 1, random.random()))  # noqa: S311

    def _matches(self, found: BLEDevice, adv: AdvertisementData) -> bool:
        if self.device.address:
            return found.address.upper() == self.device.address
        if self.device.name:
            return (adv.local_name or found.name) == self.device.name
        return SERVICE_OF_KIND[self.device.kind] in adv.service_uuids

    async def _one_connection(self) -> float:
        self._status("connecting")
        found: tuple[BLEDevice, AdvertisementData] | None = None

        def match(candidate: BLEDevice, adv: AdvertisementData) -> bool:
            nonlocal found
            if self._matches(candidate, adv):
                found = (candidate, adv)
                return True
            return False

        ble_device = await BleakScanner.find_device_by_filter(
            match, timeout=self._settings.scan_timeout_s, **self._ble.scanner_kwargs
        )
        if ble_device is None or found is None:
            raise DeviceNotFoundError(
                f"not advertising within {self._settings.scan_timeout_s:.0f} s"
            )
        rssi = found[1].rssi
        disconnected = asyncio.Event()
        self._log.info("%s: connecting to %s", self.device.id, mask_address(ble_device.address))
        client = await asyncio.wait_for(
            establish_connection(
                BleakClient,
                ble_device,
                self.device.id,
                disconnected_callback=lambda _client: disconnected.set(),
                max_attempts=2,
                **self._ble.client_kwargs,
            ),
            self._settings.connect_timeout_s,
        )
        connected_at = time.monotonic()
        self.counters.connections += 1
        try:
            await self._read_device_information(client)
            await self._subscribe(client)
            self._status("connected", rssi)
            self._log.info("%s: connected and subscribed", self.device.id)
            await disconnected.wait()
        finally:
            self._flush_burst()
            with contextlib.suppress(BleakError, TimeoutError, OSError):
                await asyncio.wait_for(client.disconnect(), 5)
        return time.monotonic() - connected_at

    async def _read_device_information(self, client: BleakClient) -> None:
        for uuid, attr in (
            (uuids.MODEL_NUMBER_STRING_UUID, "_model"),
            (uuids.FIRMWARE_REVISION_STRING_UUID, "_firmware"),
        ):
            if client.services.get_characteristic(uuid) is not None:
                with contextlib.suppress(BleakError, UnicodeDecodeError):
                    text = (await client.read_gatt_char(uuid)).decode("utf-8").strip("\x00 ")
                    setattr(self, attr, text[:64] or None)
        battery = client.services.get_characteristic(uuids.BATTERY_LEVEL_UUID)
        if battery is not None:
            with contextlib.suppress(BleakError, MalformedPayload):
                self._battery = parse_battery_level(await client.read_gatt_char(battery))
            if "notify" in battery.properties:
                await client.start_notify(battery, self._on_battery)

    def _on_battery(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        try:
            self._battery = parse_battery_level(data)
        except MalformedPayload as err:
            self.counters.malformed += 1
            self._log.warning("%s: rejected: %s", self.device.id, err)
            return
        self._status("connected")

    def _hold(self, observation: Observation, received: float) -> None:
        """Keep a cuff's reading until its burst is over (quiet for BURST_QUIET_S, or the
        link ends), then record the burst with its history told apart (`bursts.py`)."""
        self._burst.append((observation, received))
        if self._burst_timer is not None:
            self._burst_timer.cancel()
        self._burst_timer = asyncio.get_running_loop().call_later(BURST_QUIET_S, self._flush_burst)

    def _flush_burst(self) -> None:
        if self._burst_timer is not None:
            self._burst_timer.cancel()
            self._burst_timer = None
        burst, self._burst = self._burst, []
        flags = historical_flags([observation for observation, _ in burst])
        for (observation, received), historical in zip(burst, flags, strict=True):
            self._record(self.device, observation, received, historical)

    async def _subscribe(self, client: BleakClient) -> None:
        def handler_for(sub: Subscription) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
            def on_value(_char: BleakGATTCharacteristic, data: bytearray) -> None:
                received = self._clock()
                self.counters.notifications += 1
                try:
                    observation = sub.observe(sub.parse(bytes(data)))
                except MalformedPayload as err:
                    self.counters.malformed += 1
                    self._log.warning("%s: rejected %s: %s", self.device.id, sub.name, err)
                    return
                self._last_seen = received
                if sub.arrives_in_bursts:
                    self._hold(observation, received)
                else:
                    self._record(self.device, observation, received, observation.from_storage)

            return on_value

        for sub in SUBSCRIPTIONS[self.device.kind]:
            if client.services.get_characteristic(sub.characteristic) is None:
                self._log.info("%s: has no %s", self.device.id, sub.name)
                continue
            await client.start_notify(sub.characteristic, handler_for(sub))
