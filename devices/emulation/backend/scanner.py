"""`BumbleScanner`: bleak's scanner backend over a `BumbleCentral`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal, cast

from bleak.backends.scanner import (
    AdvertisementData,
    AdvertisementDataCallback,
    BaseBleakScanner,
)
from bleak.uuids import normalize_uuid_str
from bumble.core import AdvertisingData

from devices.emulation.backend.central import BumbleCentral, BumbleDeviceDetails
from devices.emulation.backend.errors import BumbleBackendNotConfiguredError
from devices.emulation.backend.services import bleak_uuid

if TYPE_CHECKING:
    from bumble.core import UUID
    from bumble.device import Advertisement

logger = logging.getLogger(__name__)

_UUID_LISTS = (
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)
_SERVICE_DATA = (
    AdvertisingData.SERVICE_DATA_16_BIT_UUID,
    AdvertisingData.SERVICE_DATA_32_BIT_UUID,
    AdvertisingData.SERVICE_DATA_128_BIT_UUID,
)


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """bleak's view of one bumble advertisement (advertising data plus scan response).

    The virtual controller echoes the advertising data as scan response, so structures can
    repeat: the first of each kind wins and UUIDs are listed once.
    """
    data = advertisement.data
    name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
        AdvertisingData.SHORTENED_LOCAL_NAME
    )
    uuids: list[str] = []
    for list_type in _UUID_LISTS:
        for uuid_list in cast("list[list[UUID]]", data.get_all(list_type)):
            uuids.extend(u for u in map(bleak_uuid, uuid_list) if u not in uuids)
    service_data: dict[str, bytes] = {}
    for data_type in _SERVICE_DATA:
        for service_uuid, payload in cast("list[tuple[UUID, bytes]]", data.get_all(data_type)):
            service_data.setdefault(bleak_uuid(service_uuid), payload)
    manufacturer_data: dict[int, bytes] = {}
    for company, payload in data.get_all(AdvertisingData.MANUFACTURER_SPECIFIC_DATA):
        manufacturer_data.setdefault(company, payload)
    tx_power = data.get(AdvertisingData.TX_POWER_LEVEL)
    return AdvertisementData(
        local_name=name,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=uuids,
        tx_power=tx_power,
        rssi=advertisement.rssi,
        platform_data=(advertisement,),
    )


class BumbleScanner(BaseBleakScanner):
    """Scans with the shared bumble device; pass `bumble=BumbleCentral(...)` to `BleakScanner`.

    Several scanners may run at once on one central; the first one's scanning mode is used.
    """

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        bumble: BumbleCentral | None = None,
        **_kwargs: object,  # bleak's per-platform arguments (bluez=, cb=): not ours
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        if service_uuids is not None:  # accept "180d" as well as the 128-bit form
            self._service_uuids = [normalize_uuid_str(u) for u in service_uuids]
        if bumble is None:
            raise BumbleBackendNotConfiguredError("BumbleScanner")
        self._central = bumble
        self._active = scanning_mode == "active"
        self._token: object | None = None

    async def start(self) -> None:
        if self._token is not None:
            return
        self.seen_devices = {}
        self._token = await self._central.start_listening(
            self._on_advertisement, active=self._active
        )

    async def stop(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            await self._central.stop_listening(token)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        adv = advertisement_data(advertisement)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        address = advertisement.address.to_string(with_type_qualifier=False)
        device = self.create_or_update_device(
            address, address, adv.local_name, BumbleDeviceDetails(advertisement.address), adv
        )
        self.call_detection_callbacks(device, adv)
