"""What every emulated wearable shares: GATT plumbing, advertising, links, presence, battery.

A wearable is a bumble peripheral driven by a `SessionModel` through a `Clock`. Its `run()`
follows the model until cancelled: it advertises while the model says it is on the air and
wants a link, ends the link from its side with reason 0x08 (connection timeout) when the
model says it walked away or fell asleep, and notifies its battery level as it drains.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, ClassVar, Final

from bumble import core, hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.profiles.device_information_service import DeviceInformationService

from devices.emulation.addresses import address_for_log
from devices.emulation.scenario import DeviceKind, DeviceSpec, Presence, SessionModel
from devices.gatt import encode_battery_level
from devices.gatt.uuids import BATTERY_LEVEL_UUID, BATTERY_SERVICE_UUID

if TYPE_CHECKING:
    from devices.emulation.clock import Clock

logger = logging.getLogger(__name__)

CONNECTION_TIMEOUT: Final = hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR
REMOTE_USER_TERMINATED: Final = hci.HCI_ErrorCode.REMOTE_USER_TERMINATED_CONNECTION_ERROR
DEFAULT_ADVERTISING_INTERVAL_MS: Final = 20.0
# Real-time floors, so a fast clock never turns a loop into a busy loop.
MIN_REAL_PERIOD_S: Final = 0.005
MIN_REAL_TICK_S: Final = 0.02
# Scenario seconds between presence checks and between battery checks (before the floors).
PRESENCE_TICK_S: Final = 1.0
BATTERY_TICK_S: Final = 60.0
# Real seconds to wait for an indication's confirmation or for a link to end.
INDICATION_TIMEOUT_S: Final = 5.0
DISCONNECT_TIMEOUT_S: Final = 5.0
# Legacy advertising data: 31 bytes; the name gets what the flags and UUIDs leave.
_ADVERTISING_DATA_MAX: Final = 31

_CCCD_NOTIFY: Final = 0x01
_CCCD_INDICATE: Final = 0x02


def raise_if_cancel_lost() -> None:
    """Re-raise a cancellation of the current task that an await swallowed (see `sleep_until`)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def readable(uuid: str, value: CharacteristicValue[bytes] | bytes) -> Characteristic[bytes]:
    return Characteristic(uuid, Characteristic.Properties.READ, Characteristic.READABLE, value)


def pushed(uuid: str, properties: Characteristic.Properties) -> Characteristic[bytes]:
    """A notify or indicate characteristic; bumble adds its CCCD."""
    return Characteristic(uuid, properties, Characteristic.READABLE, b"")


def advertising_data(name: str, service_uuid16s: tuple[int, ...]) -> bytes:
    """Flags, the 16-bit service UUIDs, and as much of the name as fits."""
    uuids = b"".join(bytes(UUID.from_16_bits(u)) for u in service_uuid16s)
    structures: list[tuple[int, bytes]] = [
        (AdvertisingData.FLAGS, bytes([0x06])),  # LE general discoverable, no BR/EDR
        (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, uuids),
    ]
    room = _ADVERTISING_DATA_MAX - sum(2 + len(data) for _, data in structures) - 2
    encoded = name.encode()
    if len(encoded) <= room:
        structures.append((AdvertisingData.COMPLETE_LOCAL_NAME, encoded))
    else:
        shortened = encoded[:room].decode(errors="ignore").encode()
        structures.append((AdvertisingData.SHORTENED_LOCAL_NAME, shortened))
    return bytes(AdvertisingData(structures))


class Wearable(abc.ABC):
    """A bumble peripheral that follows the scenario model."""

    kind: ClassVar[DeviceKind]
    service_uuid16: ClassVar[int]

    def __init__(
        self,
        *,
        device: Device,
        spec: DeviceSpec,
        model: SessionModel,
        clock: Clock,
        advertising_interval_ms: float = DEFAULT_ADVERTISING_INTERVAL_MS,
    ) -> None:
        self.device = device
        self.spec = spec
        self.model = model
        self.clock = clock
        self._advertising_interval_ms = advertising_interval_ms
        self._log = address_for_log(spec.address)
        self._link: Connection | None = None
        self._link_ended: asyncio.Future[int] | None = None
        self._battery_sent = model.battery_percent(self.kind, clock.now())
        self._battery: Characteristic[bytes] = Characteristic(
            BATTERY_LEVEL_UUID,
            Characteristic.Properties.READ | Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            CharacteristicValue(read=self._read_battery),
        )
        device.add_services(
            [
                *self.build_services(),
                Service(BATTERY_SERVICE_UUID, [self._battery]),
                DeviceInformationService(
                    manufacturer_name=spec.manufacturer,
                    model_number=spec.model,
                    serial_number=spec.serial,
                    firmware_revision=spec.firmware,
                ),
            ]
        )
        device.advertising_data = advertising_data(spec.name, (self.service_uuid16,))
        device.on(Device.EVENT_CONNECTION, self._on_connection)

    # What each wearable defines ------------------------------------------------------------

    @abc.abstractmethod
    def build_services(self) -> list[Service]:
        """The wearable's own GATT services (Battery and Device Information are added).

        Called once, from `Wearable.__init__`: subclasses create their characteristics and
        the state that goes with them here.
        """

    @abc.abstractmethod
    async def behaviour(self) -> None:
        """Send what the model says, for ever; cancelled when the wearable stops."""

    def wants_link(self, _t: float) -> bool:
        """Whether the wearable advertises at scenario time t when it is on the air."""
        return True

    # Running ------------------------------------------------------------------------------

    @property
    def link(self) -> Connection | None:
        return self._link

    async def run(self) -> None:
        """Follow the model until cancelled."""
        logger.info("%s %s on the air", self.kind.value, self._log)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._follow_presence())
                tasks.create_task(self._follow_battery())
                tasks.create_task(self.behaviour())
        finally:
            logger.info("%s %s stopped", self.kind.value, self._log)

    async def sleep_until(self, scenario_s: float) -> None:
        """The clock's `sleep_until`, and a cancellation checkpoint.

        Python 3.11's `asyncio.wait_for` (which bumble awaits HCI responses with) can swallow
        a cancellation that lands as the response arrives; a loop would then run for ever
        under a stopped TaskGroup. Every wearable loop sleeps here, so a lost cancellation
        is re-raised within one tick.
        """
        await self.clock.sleep_until(scenario_s)
        raise_if_cancel_lost()

    def period_s(self, scenario_period_s: float) -> float:
        """`scenario_period_s`, stretched so it never takes less than the real-time floor."""
        return max(scenario_period_s, MIN_REAL_PERIOD_S * self.clock.speed)

    async def _follow_presence(self) -> None:
        tick = max(PRESENCE_TICK_S, MIN_REAL_TICK_S * self.clock.speed)
        while True:
            t = self.clock.now()
            present = self.model.device_state(self.kind, t).presence is Presence.PRESENT
            if self._link is not None and not present:
                await self.drop_link(CONNECTION_TIMEOUT)
            wanted = present and self.wants_link(t)
            if wanted and self._link is None and not self.device.is_advertising:
                await self.device.start_advertising(
                    advertising_interval_min=self._advertising_interval_ms,
                    advertising_interval_max=self._advertising_interval_ms,
                )
                logger.debug("%s advertising", self._log)
            elif not wanted and self.device.is_advertising:
                await self.device.stop_advertising()
                logger.debug("%s stopped advertising", self._log)
            await self.sleep_until(t + tick)

    async def _follow_battery(self) -> None:
        tick = max(BATTERY_TICK_S, MIN_REAL_TICK_S * self.clock.speed)
        while True:
            await self.sleep_until(self.clock.now() + tick)
            level = self.model.battery_percent(self.kind, self.clock.now())
            if level != self._battery_sent:
                self._battery_sent = level
                await self.notify(self._battery, encode_battery_level(level))

    def _read_battery(self, _connection: Connection) -> bytes:
        return encode_battery_level(self.model.battery_percent(self.kind, self.clock.now()))

    # Links --------------------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        if connection.role != hci.Role.PERIPHERAL:
            return
        ended: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._link, self._link_ended = connection, ended

        def on_disconnection(reason: int) -> None:
            if not ended.done():
                ended.set_result(reason)
            if self._link is connection:
                self._link, self._link_ended = None, None
            logger.info("%s link ended, reason 0x%02X", self._log, reason)

        connection.on(Connection.EVENT_DISCONNECTION, on_disconnection)
        logger.info(
            "%s linked to central %s", self._log, address_for_log(str(connection.peer_address))
        )

    async def drop_link(self, reason: int) -> None:
        """End the link from the wearable's side (0x08: what walking out of range looks like)."""
        link = self._link
        if link is None:
            return
        with contextlib.suppress(core.BaseBumbleError, TimeoutError):
            async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
                await link.disconnect(reason)

    def subscribed(self, characteristic: Characteristic[bytes], *, indicate: bool = False) -> bool:
        """Whether the linked central enabled notifications (or indications) on it."""
        link = self._link
        if link is None:
            return False
        cccd = self.device.gatt_server.subscribers.get(link, {}).get(characteristic.handle)
        bit = _CCCD_INDICATE if indicate else _CCCD_NOTIFY
        return cccd is not None and len(cccd) > 0 and bool(cccd[0] & bit)

    async def notify(self, characteristic: Characteristic[bytes], payload: bytes) -> None:
        """Notify the linked central if it subscribed; a link lost meanwhile is not an error."""
        link = self._link
        if link is None or not self.subscribed(characteristic):
            return
        with contextlib.suppress(core.BaseBumbleError):
            await self.device.notify_subscriber(link, characteristic, payload)

    async def indicate(self, characteristic: Characteristic[bytes], payload: bytes) -> bool:
        """Indicate and wait for the confirmation; `False` if not subscribed or link lost."""
        link, ended = self._link, self._link_ended
        if link is None or ended is None or not self.subscribed(characteristic, indicate=True):
            return False
        indication = asyncio.ensure_future(
            self.device.indicate_subscriber(link, characteristic, payload)
        )
        try:
            async with asyncio.timeout(INDICATION_TIMEOUT_S):
                await asyncio.wait({indication, ended}, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            logger.warning("%s indication not confirmed in time", self._log)
        finally:
            if not indication.done():
                indication.cancel()
            with contextlib.suppress(asyncio.CancelledError, core.BaseBumbleError, TimeoutError):
                await indication
        return indication.done() and not indication.cancelled() and indication.exception() is None
