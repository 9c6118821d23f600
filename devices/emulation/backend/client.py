"""`BumbleClient`: bleak's client backend over a `BumbleCentral`.

Behaviour follows bleak's BlueZ backend where the gateway can tell the difference: connect
fills `services`, a second connect raises, every end of a link (ours or the peer's) calls the
disconnected callback once and clears `services` and the subscriptions, so notifications must
be started again after each reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, TypeVar

from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import core, hci
from bumble.att import ATT_Error
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy

from devices.emulation.addresses import address_for_log, normalise_address
from devices.emulation.backend.central import BumbleCentral, BumbleDeviceDetails
from devices.emulation.backend.errors import (
    BumbleBackendError,
    BumbleBackendNotConfiguredError,
    BumbleConnectTimeoutError,
    BumbleDisconnectedError,
)
from devices.emulation.backend.services import build_collection, bumble_uuid

if TYPE_CHECKING:
    from bleak.args import SizedBuffer
    from bleak.backends.characteristic import BleakGATTCharacteristic
    from bleak.backends.descriptor import BleakGATTDescriptor
    from bleak.backends.service import BleakGATTServiceCollection
    from bumble.device import Connection

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# The largest ATT MTU (512-byte attribute plus header), what BlueZ asks for too.
REQUESTED_MTU = 517
# Extra time for the controller to report a cancelled connect before we stop waiting.
_CANCEL_GRACE_S = 2.0
# Bound on a local disconnect and on each GATT operation (bumble's own ATT timeout is 30 s).
_DISCONNECT_TIMEOUT_S = 10.0
_GATT_TIMEOUT_S = 30.0


class BumbleClient(BaseBleakClient):
    """Connects through the shared bumble device; pass `bumble=BumbleCentral(...)`."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        services: set[str] | None = None,
        bumble: BumbleCentral | None = None,
        **_kwargs: object,  # bluez=, winrt=, bleak-retry-connector's _is_retry_client: not ours
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        if bumble is None:
            raise BumbleBackendNotConfiguredError("BumbleClient")
        self._central = bumble
        self.address = normalise_address(self.address)
        self._target: hci.Address | None = None
        self._name: str | None = None
        if isinstance(address_or_ble_device, BLEDevice):
            self._name = address_or_ble_device.name
            if isinstance(address_or_ble_device.details, BumbleDeviceDetails):
                self._target = address_or_ble_device.details.address
        self._requested_services = services
        self._connection: Connection | None = None
        self._subscriptions: dict[int, Callable[[bytes], None]] = {}
        self._log = address_for_log(self.address)

    # Properties -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        connection = self._connection
        return connection.att_mtu if connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # Connectivity ---------------------------------------------------------------------------

    async def connect(self, pair: bool, **kwargs: object) -> None:
        """Connect, exchange the MTU, pair if asked, discover services.

        Raises `BleakDeviceNotFoundError` when an address given as text never advertises,
        `BumbleConnectTimeoutError` (a `BleakError` and a `TimeoutError`) when the peer does
        not accept the connection within `timeout`.
        """
        if self._connection is not None:
            raise BleakError("Client is already connected")
        requested = kwargs.get("timeout")
        timeout = float(requested) if isinstance(requested, (int, float)) else self._timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        target = self._target or await self._find_target(deadline)
        try:
            async with asyncio.timeout_at(deadline + _CANCEL_GRACE_S):
                connection = await self._central.connect(
                    target, within_s=max(deadline - loop.time(), 0.001)
                )
        except (core.TimeoutError, core.ConnectionError) as error:
            raise BumbleConnectTimeoutError(
                f"device {self._log} did not accept a connection within {timeout:.1f} s"
            ) from error
        except TimeoutError as error:
            raise BumbleConnectTimeoutError(
                f"connect to {self._log} timed out and the controller never reported the "
                "cancelled connect: run the air on EmulatedController (radio.py, hub.py)"
            ) from error
        except hci.HCI_Error as error:
            raise BumbleBackendError(f"connect to {self._log} refused: {error}") from error
        self._target = target
        self._attach(connection)
        logger.debug("connected to %s", self._log)
        try:
            async with self._operation(deadline - loop.time()):
                await connection.gatt_client.request_mtu(REQUESTED_MTU)
                if pair:
                    await connection.pair()
                self.services = await self._discover_services(connection)
        except BaseException:
            await self.disconnect()
            raise

    async def _find_target(self, deadline: float) -> hci.Address:
        if known := self._central.known_address(self.address):
            return known
        try:
            async with asyncio.timeout_at(deadline):
                return await self._central.find_address(self.address)
        except TimeoutError:
            raise BleakDeviceNotFoundError(
                self.address, f"Device with address {self.address} was not found."
            ) from None

    def _attach(self, connection: Connection) -> None:
        self._connection = connection

        def on_disconnection(reason: int) -> None:
            self._on_disconnection(connection, reason)

        connection.on(connection.EVENT_DISCONNECTION, on_disconnection)

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if self._connection is not connection:
            return
        self._connection = None
        self._subscriptions.clear()
        self.services = None
        logger.debug("link to %s ended, reason 0x%02X", self._log, reason)
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            async with asyncio.timeout(_DISCONNECT_TIMEOUT_S):
                await connection.disconnect(
                    hci.HCI_ErrorCode.REMOTE_USER_TERMINATED_CONNECTION_ERROR
                )
        except (core.BaseBumbleError, TimeoutError) as error:
            logger.debug("disconnect from %s: %s", self._log, error)
        finally:
            # Normally the disconnection event already ran this; if not, tear down here so
            # that the callback still runs exactly once.
            self._on_disconnection(
                connection, hci.HCI_ErrorCode.CONNECTION_TERMINATED_BY_LOCAL_HOST_ERROR
            )

    async def pair(self, *_args: object, **_kwargs: object) -> None:
        """Pair (Just Works: neither side has input or output)."""
        connection = self._require_connection()
        async with self._operation(_GATT_TIMEOUT_S):
            await connection.pair()

    async def unpair(self) -> None:
        """Forget the keys for this peer and disconnect."""
        keystore = self._central.device.keystore
        target = self._target or self._central.known_address(self.address)
        if keystore is not None and target is not None:
            with contextlib.suppress(KeyError):
                await keystore.delete(str(target))
        await self.disconnect()

    # GATT ------------------------------------------------------------------------------------

    async def _discover_services(self, connection: Connection) -> BleakGATTServiceCollection:
        client = connection.gatt_client
        wanted = [bumble_uuid(u) for u in self._requested_services or ()]
        services = await client.discover_services(wanted)
        for service in services:
            await client.discover_characteristics((), service)
            for characteristic in service.characteristics:
                await client.discover_descriptors(characteristic)
                characteristic.descriptors_discovered = True
        return build_collection(services, lambda: self.mtu_size - 3)

    async def read_gatt_char(
        self,
        characteristic: BleakGATTCharacteristic,
        *,
        use_cached: bool = False,
        **_kwargs: object,
    ) -> bytearray:
        return await self._read(_proxy(characteristic.obj, CharacteristicProxy), use_cached)

    async def read_gatt_descriptor(
        self,
        descriptor: BleakGATTDescriptor,
        *,
        use_cached: bool = False,
        **_kwargs: object,
    ) -> bytearray:
        return await self._read(_proxy(descriptor.obj, DescriptorProxy), use_cached)

    async def _read(
        self, proxy: CharacteristicProxy[bytes] | DescriptorProxy, cached: bool
    ) -> bytearray:
        connection = self._require_connection()
        if cached and (entry := connection.gatt_client.cached_values.get(proxy.handle)):
            return bytearray(entry[1])
        async with self._operation(_GATT_TIMEOUT_S):
            return bytearray(await connection.gatt_client.read_value(proxy.handle))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        proxy = _proxy(characteristic.obj, CharacteristicProxy)
        await self._write(proxy.handle, bytes(data), with_response=response)

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        proxy = _proxy(descriptor.obj, DescriptorProxy)
        await self._write(proxy.handle, bytes(data), with_response=True)

    async def _write(self, handle: int, data: bytes, *, with_response: bool) -> None:
        connection = self._require_connection()
        async with self._operation(_GATT_TIMEOUT_S):
            await connection.gatt_client.write_value(handle, data, with_response=with_response)

    async def start_notify(
        self,
        characteristic: BleakGATTCharacteristic,
        callback: NotifyCallback,
        **_kwargs: object,
    ) -> None:
        """Write the CCCD: notifications when the characteristic has both, else indications."""
        connection = self._require_connection()
        proxy = _proxy(characteristic.obj, CharacteristicProxy)

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        async with self._operation(_GATT_TIMEOUT_S):
            if previous := self._subscriptions.pop(proxy.handle, None):
                await connection.gatt_client.unsubscribe(proxy, previous)
            self._subscriptions[proxy.handle] = subscriber
            await connection.gatt_client.subscribe(proxy, subscriber, prefer_notify=True)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        connection = self._require_connection()
        proxy = _proxy(characteristic.obj, CharacteristicProxy)
        subscriber = self._subscriptions.pop(proxy.handle, None)
        async with self._operation(_GATT_TIMEOUT_S):
            await connection.gatt_client.unsubscribe(proxy, subscriber, force=True)

    # Helpers ----------------------------------------------------------------------------------

    def _require_connection(self) -> Connection:
        if self._connection is None:
            raise BleakError("Not connected")
        return self._connection

    @contextlib.asynccontextmanager
    async def _operation(self, limit_s: float) -> AsyncIterator[None]:
        """Bound a GATT exchange and turn bumble's errors into bleak's.

        bumble cancels a pending ATT request when the link ends, which surfaces here as a
        `CancelledError` although nobody cancelled our task: that becomes a `BleakError`.
        """
        task = asyncio.current_task()
        try:
            async with asyncio.timeout(max(limit_s, 0.001)):
                yield
        except ATT_Error as error:
            raise BleakGATTProtocolError(int(error.error_code)) from error
        except asyncio.CancelledError:
            if task is not None and task.cancelling() == 0:
                raise BumbleDisconnectedError(
                    f"link to {self._log} ended during a GATT operation"
                ) from None
            raise
        except TimeoutError as error:
            raise BumbleBackendError(
                f"GATT operation on {self._log} timed out after {limit_s:.1f} s"
            ) from error
        except core.BaseBumbleError as error:
            raise BumbleBackendError(f"GATT operation on {self._log} failed: {error}") from error


def _proxy(obj: object, kind: type[_T]) -> _T:
    if not isinstance(obj, kind):
        raise BleakError(f"not an object of the bumble backend: {type(obj).__name__}")
    return obj
