"""bumble's discovered GATT proxies as bleak's `BleakGATTServiceCollection`."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bumble.core import UUID
from bumble.gatt import Characteristic

if TYPE_CHECKING:
    from bleak.assigned_numbers import CharacteristicPropertyName
    from bumble.gatt_client import CharacteristicProxy, ServiceProxy

# bleak's property names, in bit order of the characteristic declaration.
_PROPERTY_NAMES: tuple[tuple[Characteristic.Properties, CharacteristicPropertyName], ...] = (
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
    (Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)


def bleak_uuid(value: UUID) -> str:
    """bleak's form: the lower-case 128-bit UUID string."""
    return str(uuid.UUID(bytes=bytes(reversed(value.uuid_128_bytes))))


def bumble_uuid(value: str) -> UUID:
    """bumble's form of a bleak UUID string (16-bit UUIDs shrink back to 16 bits)."""
    full = uuid.UUID(value)
    base = uuid.UUID("00000000-0000-1000-8000-00805f9b34fb")
    if full.int & ~(0xFFFF << 96) == base.int:
        return UUID.from_16_bits((full.int >> 96) & 0xFFFF)
    return UUID.from_bytes(bytes(reversed(full.bytes)))


def property_names(properties: Characteristic.Properties) -> list[CharacteristicPropertyName]:
    return [name for flag, name in _PROPERTY_NAMES if properties & flag]


def build_collection(
    services: Iterable[ServiceProxy], write_without_response_size: Callable[[], int]
) -> BleakGATTServiceCollection:
    """A collection whose `obj` attributes are the bumble proxies, for the client to use."""
    collection = BleakGATTServiceCollection()
    for service in services:
        bleak_service = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
        collection.add_service(bleak_service)
        characteristic: CharacteristicProxy[bytes]
        for characteristic in service.characteristics:
            bleak_characteristic = BleakGATTCharacteristic(
                characteristic,
                characteristic.handle,
                bleak_uuid(characteristic.uuid),
                property_names(characteristic.properties),
                write_without_response_size,
                bleak_service,
            )
            collection.add_characteristic(bleak_characteristic)
            for descriptor in characteristic.descriptors:
                collection.add_descriptor(
                    BleakGATTDescriptor(
                        descriptor,
                        descriptor.handle,
                        bleak_uuid(descriptor.type),
                        bleak_characteristic,
                    )
                )
    return collection
