"""The gateway's side of the air: one bumble `Device` shared by every scanner and client.

bleak builds backend objects itself, so what they share (the bumble device, the scan state,
the address types seen while scanning and the connect queue) lives here and reaches them
through the `bumble=` keyword argument.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bumble import hci
from bumble.core import PhysicalTransport
from bumble.device import Advertisement, Connection, Device

from devices.emulation.addresses import address_for_log, normalise_address

logger = logging.getLogger(__name__)

AdvertisementListener = Callable[[Advertisement], None]

# How long an abandoned connect may take to cancel in the controller.
_ABANDON_TIMEOUT_S = 1.0


@dataclass(frozen=True, slots=True)
class BumbleDeviceDetails:
    """`BLEDevice.details` of a device seen by `BumbleScanner`: its address, with the type.

    Not a dict with a "path" key, so bleak-retry-connector never asks BlueZ about it.
    """

    address: hci.Address


class BumbleCentral:
    """A powered-on bumble `Device` used as the gateway's Bluetooth adapter."""

    def __init__(self, device: Device) -> None:
        self._device = device
        self._connect_lock = asyncio.Lock()
        self._scan_lock = asyncio.Lock()
        self._listeners: dict[object, AdvertisementListener] = {}
        self._addresses: dict[str, hci.Address] = {}
        device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)

    @property
    def device(self) -> Device:
        return self._device

    def close(self) -> None:
        """Stop following the device's advertisements (the device itself stays as it is)."""
        self._device.remove_listener(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        self._listeners.clear()

    # Scanning -------------------------------------------------------------------------------

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        address = advertisement.address
        self._addresses[address.to_string(with_type_qualifier=False)] = address
        for listener in list(self._listeners.values()):
            listener(advertisement)

    async def start_listening(self, listener: AdvertisementListener, *, active: bool) -> object:
        """Deliver advertisements to `listener`, scanning while anyone listens."""
        async with self._scan_lock:
            token = object()
            self._listeners[token] = listener
            if not self._device.is_scanning:
                await self._device.start_scanning(active=active, filter_duplicates=False)
            return token

    async def stop_listening(self, token: object) -> None:
        async with self._scan_lock:
            self._listeners.pop(token, None)
            if not self._listeners and self._device.is_scanning:
                await self._device.stop_scanning()

    def known_address(self, address: str) -> hci.Address | None:
        """The typed address last seen advertising as `address`, if any."""
        return self._addresses.get(normalise_address(address))

    async def find_address(self, address: str) -> hci.Address:
        """Scan until `address` advertises; the caller bounds the wait."""
        wanted = normalise_address(address)
        if known := self._addresses.get(wanted):
            return known
        found: asyncio.Future[hci.Address] = asyncio.get_running_loop().create_future()

        def listener(advertisement: Advertisement) -> None:
            seen = advertisement.address
            if not found.done() and seen.to_string(with_type_qualifier=False) == wanted:
                found.set_result(seen)

        token = await self.start_listening(listener, active=True)
        try:
            return await found
        finally:
            await self.stop_listening(token)

    # Connecting -----------------------------------------------------------------------------

    async def connect(self, address: hci.Address, *, within_s: float) -> Connection:
        """Connect as central; one LE connect at a time on this host, as BlueZ queues them.

        `within_s` counts from the moment this connect holds the queue. Raises bumble's
        `core.TimeoutError` when the peer did not show up in time.
        """
        async with self._connect_lock:
            try:
                return await self._device.connect(
                    address, transport=PhysicalTransport.LE, timeout=within_s
                )
            except asyncio.CancelledError:
                await self._abandon_connect(address)
                raise

    async def _abandon_connect(self, address: hci.Address) -> None:
        """Leave neither a pending connect in the controller nor a connection nobody owns."""
        with contextlib.suppress(Exception, asyncio.CancelledError):
            async with asyncio.timeout(_ABANDON_TIMEOUT_S):
                await self._device.send_sync_command(hci.HCI_LE_Create_Connection_Cancel_Command())
        if orphan := self._device.find_connection_by_bd_addr(
            address, transport=PhysicalTransport.LE
        ):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                async with asyncio.timeout(_ABANDON_TIMEOUT_S):
                    await orphan.disconnect(
                        hci.HCI_ErrorCode.REMOTE_USER_TERMINATED_CONNECTION_ERROR
                    )
        logger.debug("abandoned connect to %s", address_for_log(str(address)))
