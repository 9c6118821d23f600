"""The virtual air: where emulated devices get a bumble `Device` with a controller of its own.

`LocalRadio` keeps every controller in this process on one `LocalLink` (tests, single-process
demo). `hub.HubAir` gives each device a controller in a hub process instead, so wearables and
gateway can run in separate processes. Both satisfy `Air`.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Protocol, Self

from bumble import hci
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from devices.emulation.addresses import address_for_log, normalise_address
from devices.emulation.controller import EmulatedController

if TYPE_CHECKING:
    from types import TracebackType

logger = logging.getLogger(__name__)


class Air(Protocol):
    """Somewhere bumble devices can be opened; closing it powers them off."""

    async def open_device(self, *, name: str, address: str, public: bool = False) -> Device:
        """A powered-on bumble `Device` with `address` (random static unless `public`)."""
        ...

    async def aclose(self) -> None:
        """Power off every device opened here and release the air."""
        ...


def device_address(address: str, *, public: bool) -> hci.Address:
    address_type = (
        hci.Address.PUBLIC_DEVICE_ADDRESS if public else hci.Address.RANDOM_DEVICE_ADDRESS
    )
    return hci.Address(normalise_address(address), address_type)


class LocalRadio:
    """All controllers in this process, on one `LocalLink`."""

    def __init__(self) -> None:
        self._link = LocalLink()  # type: ignore[no-untyped-call]  # untyped in bumble
        self._controllers: dict[Device, EmulatedController] = {}

    async def open_device(self, *, name: str, address: str, public: bool = False) -> Device:
        bd_address = device_address(address, public=public)
        controller = EmulatedController(
            f"local-{len(self._controllers)}",
            link=self._link,
            public_address=bd_address.to_string(with_type_qualifier=False) if public else None,
        )
        device = Device(
            name=name, address=bd_address, host=Host(controller, AsyncPipeSink(controller))
        )
        self._controllers[device] = controller
        await device.power_on()
        logger.debug("device %s on the local air", address_for_log(address))
        return device

    def leave_air(self, device: Device) -> None:
        """Take `device` off the air at once, as if its battery died (peers see reason 0x08)."""
        if controller := self._controllers.get(device):
            controller.leave_air()

    async def aclose(self) -> None:
        for device, controller in list(self._controllers.items()):
            with contextlib.suppress(Exception):  # closing: a device already gone is fine
                await device.power_off()
            controller.leave_air()
        self._controllers.clear()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
