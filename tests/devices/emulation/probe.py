"""A bumble peripheral with one characteristic per behaviour the backend contract pins."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bumble import gatt
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.hci import OwnAddressType

from devices.emulation.radio import Air

GATEWAY_ADDRESS = "F0:00:00:00:00:01"
PROBE_ADDRESS = "C0:11:22:33:44:55"
PROBE_NAME = "Probe-1"
PROBE_SERVICE = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
READ_CHAR = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"
WRITE_CHAR = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"
NOTIFY_CHAR = "6e400004-b5a3-f393-e0a9-e50e24dcca9e"
INDICATE_CHAR = "6e400005-b5a3-f393-e0a9-e50e24dcca9e"
BOTH_CHAR = "6e400006-b5a3-f393-e0a9-e50e24dcca9e"
SECURE_CHAR = "6e400007-b5a3-f393-e0a9-e50e24dcca9e"
SLOW_CHAR = "6e400008-b5a3-f393-e0a9-e50e24dcca9e"
BATTERY_SERVICE_16 = "0000180f-0000-1000-8000-00805f9b34fb"
ADVERTISING_INTERVAL_MS = 20


@dataclass
class Probe:
    """A bumble peripheral with one characteristic per behaviour the contract pins."""

    device: Device
    notify: gatt.Characteristic[bytes]
    indicate: gatt.Characteristic[bytes]
    both: gatt.Characteristic[bytes]
    slow_read_release: asyncio.Event
    public: bool = False

    @property
    def connection(self) -> Connection:
        return next(iter(self.device.connections.values()))

    async def advertise(self) -> None:
        await self.device.start_advertising(
            own_address_type=OwnAddressType.PUBLIC if self.public else OwnAddressType.RANDOM,
            advertising_interval_min=ADVERTISING_INTERVAL_MS,
            advertising_interval_max=ADVERTISING_INTERVAL_MS,
        )


async def make_probe(
    radio: Air, *, address: str = PROBE_ADDRESS, name: str = PROBE_NAME, public: bool = False
) -> Probe:
    device = await radio.open_device(name=name, address=address, public=public)
    slow_read_release = asyncio.Event()

    async def slow_read(_connection: Connection) -> bytes:
        await slow_read_release.wait()
        return b"late"

    props = gatt.Characteristic.Properties
    readable = gatt.Characteristic.READABLE
    notify = gatt.Characteristic(NOTIFY_CHAR, props.NOTIFY, readable, b"")
    indicate = gatt.Characteristic(INDICATE_CHAR, props.INDICATE, readable, b"")
    both = gatt.Characteristic(BOTH_CHAR, props.NOTIFY | props.INDICATE, readable, b"")
    device.add_service(
        gatt.Service(
            PROBE_SERVICE,
            [
                gatt.Characteristic(READ_CHAR, props.READ, readable, b"vigil"),
                gatt.Characteristic(
                    WRITE_CHAR,
                    props.READ | props.WRITE | props.WRITE_WITHOUT_RESPONSE,
                    gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
                    b"\x00",
                ),
                notify,
                indicate,
                both,
                gatt.Characteristic(
                    SECURE_CHAR,
                    props.READ,
                    gatt.Characteristic.READ_REQUIRES_ENCRYPTION,
                    b"secret",
                ),
                gatt.Characteristic(
                    SLOW_CHAR, props.READ, readable, gatt.CharacteristicValue(read=slow_read)
                ),
            ],
        )
    )
    device.advertising_data = bytes(
        AdvertisingData(
            [
                (AdvertisingData.FLAGS, bytes([0x06])),
                (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()),
                (
                    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                    bytes(UUID.from_16_bits(0x180F)),
                ),
            ]
        )
    )
    probe = Probe(
        device=device,
        notify=notify,
        indicate=indicate,
        both=both,
        slow_read_release=slow_read_release,
        public=public,
    )
    await probe.advertise()
    return probe
