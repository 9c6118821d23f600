"""The bleak behaviour Vigil relies on, pinned through bleak's public API on the bumble backend.

If a bleak or bumble upgrade breaks one of these, the gateway's assumptions broke with it.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import (
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)
from bleak_retry_connector import BleakClientWithServiceCache, establish_connection
from bumble import hci

from devices.emulation.backend import (
    BumbleBackendNotConfiguredError,
    BumbleCentral,
    BumbleClient,
    BumbleConnectTimeoutError,
    BumbleDeviceDetails,
    BumbleScanner,
    client_options,
    scanner_options,
)
from devices.emulation.radio import LocalRadio

from .probe import (
    BATTERY_SERVICE_16,
    BOTH_CHAR,
    INDICATE_CHAR,
    NOTIFY_CHAR,
    PROBE_ADDRESS,
    PROBE_NAME,
    PROBE_SERVICE,
    READ_CHAR,
    SECURE_CHAR,
    SLOW_CHAR,
    WRITE_CHAR,
    Probe,
    make_probe,
)

CCCD = "00002902-0000-1000-8000-00805f9b34fb"
ABSENT_ADDRESS = "C5:C5:C5:C5:C5:C5"


async def find_probe(central: BumbleCentral) -> BLEDevice:
    device = await BleakScanner.find_device_by_name(
        PROBE_NAME, timeout=2, **scanner_options(central)
    )
    assert device is not None
    return device


def client_for(central: BumbleCentral, device: BLEDevice | str, **kwargs: object) -> BleakClient:
    return BleakClient(device, backend=BumbleClient, bumble=central, timeout=2, **kwargs)  # type: ignore[arg-type]


# Scanning ---------------------------------------------------------------------------------------


async def test_scan_finds_the_device_by_name_with_a_normalised_address(
    central: BumbleCentral, probe: Probe
) -> None:
    device = await find_probe(central)

    assert device.address == PROBE_ADDRESS
    assert device.name == PROBE_NAME
    assert isinstance(device.details, BumbleDeviceDetails)


async def test_scan_reports_advertisement_data(central: BumbleCentral, probe: Probe) -> None:
    found = asyncio.get_running_loop().create_future()

    def on_detection(device: BLEDevice, adv: object) -> None:
        if not found.done():
            found.set_result((device, adv))

    async with BleakScanner(on_detection, **scanner_options(central)):
        async with asyncio.timeout(2):
            device, adv = await found

    assert device.address == PROBE_ADDRESS
    assert adv.local_name == PROBE_NAME
    assert adv.service_uuids == [BATTERY_SERVICE_16]
    assert adv.manufacturer_data == {}
    assert adv.service_data == {}
    assert adv.tx_power is None
    assert adv.rssi == -50


async def test_scan_filters_on_service_uuid(radio: LocalRadio, central: BumbleCentral) -> None:
    await make_probe(radio)
    other = await make_probe(radio, address="C0:99:99:99:99:99", name="Other")
    other.device.advertising_data = b"\x02\x01\x06\x06\x09Other"
    await other.advertise()

    matching = await BleakScanner.discover(
        timeout=0.2, service_uuids=["180f"], **scanner_options(central)
    )
    everything = await BleakScanner.discover(timeout=0.2, **scanner_options(central))
    unrelated = await BleakScanner.discover(
        timeout=0.2, service_uuids=["180d"], **scanner_options(central)
    )

    assert [d.address for d in matching] == [PROBE_ADDRESS]
    assert sorted(d.address for d in everything) == ["C0:11:22:33:44:55", "C0:99:99:99:99:99"]
    assert unrelated == []


async def test_public_addresses_lose_bumbles_suffix_and_keep_their_type(
    radio: LocalRadio, central: BumbleCentral
) -> None:
    await make_probe(radio, address="00:1B:DC:00:00:07", public=True)

    device = await find_probe(central)
    async with client_for(central, "00:1b:dc:00:00:07") as client:
        connected = client.is_connected

    assert device.address == "00:1B:DC:00:00:07"
    assert isinstance(device.details, BumbleDeviceDetails)
    assert device.details.address.address_type == hci.Address.PUBLIC_DEVICE_ADDRESS
    assert connected


# Connecting and discovery -----------------------------------------------------------------------


async def test_connect_discovers_services_characteristics_and_descriptors(
    central: BumbleCentral, probe: Probe
) -> None:
    async with client_for(central, await find_probe(central)) as client:
        service = client.services.get_service(PROBE_SERVICE)
        assert service is not None
        properties = {c.uuid: sorted(c.properties) for c in service.characteristics}
        descriptors = {c.uuid: [d.uuid for d in c.descriptors] for c in service.characteristics}
        mtu = client.mtu_size

    assert properties == {
        READ_CHAR: ["read"],
        WRITE_CHAR: ["read", "write", "write-without-response"],
        NOTIFY_CHAR: ["notify"],
        INDICATE_CHAR: ["indicate"],
        BOTH_CHAR: ["indicate", "notify"],
        SECURE_CHAR: ["read"],
        SLOW_CHAR: ["read"],
    }
    assert descriptors == {
        READ_CHAR: [],
        WRITE_CHAR: [],
        NOTIFY_CHAR: [CCCD],
        INDICATE_CHAR: [CCCD],
        BOTH_CHAR: [CCCD],
        SECURE_CHAR: [],
        SLOW_CHAR: [],
    }
    assert mtu == 517


async def test_connect_by_address_text_scans_for_the_device(
    central: BumbleCentral, probe: Probe
) -> None:
    async with client_for(central, PROBE_ADDRESS.lower()) as client:
        assert client.address == PROBE_ADDRESS
        assert client.services.get_service(PROBE_SERVICE) is not None


async def test_services_filter_limits_discovery(central: BumbleCentral, probe: Probe) -> None:
    async with client_for(central, await find_probe(central), services=[PROBE_SERVICE]) as client:
        uuids = [s.uuid for s in client.services]

    assert uuids == [PROBE_SERVICE]


async def test_second_connect_on_a_connected_client_raises(
    central: BumbleCentral, probe: Probe
) -> None:
    async with client_for(central, await find_probe(central)) as client:
        with pytest.raises(BleakError, match="already connected"):
            await client.connect()


async def test_concurrent_connects_on_one_host_are_queued(
    radio: LocalRadio, central: BumbleCentral
) -> None:
    await make_probe(radio)
    await make_probe(radio, address="C0:99:99:99:99:99", name="Other")
    clients = [client_for(central, PROBE_ADDRESS), client_for(central, "C0:99:99:99:99:99")]

    await asyncio.gather(*(c.connect() for c in clients))
    connected = [c.is_connected for c in clients]
    await asyncio.gather(*(c.disconnect() for c in clients))

    assert connected == [True, True]


async def test_connecting_to_an_absent_device_raises_a_bleak_timeout_error_in_time(
    central: BumbleCentral, probe: Probe
) -> None:
    ghost = BLEDevice(ABSENT_ADDRESS, None, BumbleDeviceDetails(hci.Address(ABSENT_ADDRESS)))
    client = BleakClient(ghost, backend=BumbleClient, bumble=central, timeout=0.3)

    started = time.monotonic()
    with pytest.raises(BleakError) as raised:
        await client.connect()
    elapsed = time.monotonic() - started

    assert isinstance(raised.value, BumbleConnectTimeoutError)
    assert isinstance(raised.value, TimeoutError)
    assert 0.3 <= elapsed < 1.5
    assert not client.is_connected
    # The host is not left with a pending connect: the present device still connects.
    async with client_for(central, PROBE_ADDRESS) as present:
        assert present.is_connected


async def test_connecting_to_an_unknown_address_raises_device_not_found(
    central: BumbleCentral,
) -> None:
    client = BleakClient(ABSENT_ADDRESS, backend=BumbleClient, bumble=central, timeout=0.3)

    with pytest.raises(BleakDeviceNotFoundError) as raised:
        await client.connect()

    assert raised.value.identifier == ABSENT_ADDRESS


async def test_backend_without_the_central_says_how_to_pass_it() -> None:
    with pytest.raises(BumbleBackendNotConfiguredError, match="bumble=BumbleCentral"):
        BleakClient(PROBE_ADDRESS, backend=BumbleClient)
    with pytest.raises(BumbleBackendNotConfiguredError, match="bumble=BumbleCentral"):
        BleakScanner(backend=BumbleScanner)


# Reading and writing ----------------------------------------------------------------------------


async def test_read_and_write_characteristics(central: BumbleCentral, probe: Probe) -> None:
    async with client_for(central, await find_probe(central)) as client:
        value = await client.read_gatt_char(READ_CHAR)
        await client.write_gatt_char(WRITE_CHAR, b"\x2a", response=True)
        written = await client.read_gatt_char(WRITE_CHAR)
        await client.write_gatt_char(WRITE_CHAR, b"\x2b", response=False)
        await asyncio.sleep(0.01)
        unacknowledged = await client.read_gatt_char(WRITE_CHAR)
        cached = await client.read_gatt_char(WRITE_CHAR, use_cached=True)

    assert value == bytearray(b"vigil")
    assert isinstance(value, bytearray)
    assert written == bytearray(b"\x2a")
    assert unacknowledged == bytearray(b"\x2b")
    assert cached == bytearray(b"\x2b")


async def test_read_descriptor_and_refuse_direct_cccd_writes(
    central: BumbleCentral, probe: Probe
) -> None:
    async with client_for(central, await find_probe(central)) as client:
        cccd = client.services.get_characteristic(NOTIFY_CHAR).descriptors[0]  # type: ignore[union-attr]
        before = await client.read_gatt_descriptor(cccd)
        await client.start_notify(NOTIFY_CHAR, lambda _c, _d: None)
        after = await client.read_gatt_descriptor(cccd)
        with pytest.raises(ValueError, match="CCCD"):
            await client.write_gatt_descriptor(cccd, b"\x01\x00")

    assert before == bytearray(b"\x00\x00")
    assert after == bytearray(b"\x01\x00")


async def test_encrypted_characteristic_needs_just_works_pairing(
    central: BumbleCentral, probe: Probe
) -> None:
    async with client_for(central, await find_probe(central)) as client:
        with pytest.raises(BleakGATTProtocolError) as refused:
            await client.read_gatt_char(SECURE_CHAR)
        await client.pair()
        value = await client.read_gatt_char(SECURE_CHAR)

    assert refused.value.code == BleakGATTProtocolErrorCode.INSUFFICIENT_ENCRYPTION
    assert value == bytearray(b"secret")


async def test_pair_on_connect(central: BumbleCentral, probe: Probe) -> None:
    async with client_for(central, await find_probe(central), pair=True) as client:
        assert await client.read_gatt_char(SECURE_CHAR) == bytearray(b"secret")


async def test_operations_need_a_connection(central: BumbleCentral, probe: Probe) -> None:
    client = client_for(central, await find_probe(central))
    await client.connect()
    characteristic = client.services.get_characteristic(READ_CHAR)
    assert characteristic is not None
    await client.disconnect()

    # bleak's facade looks at the services first: they are gone with the link.
    with pytest.raises(BleakError, match="Service Discovery has not been performed"):
        await client.read_gatt_char(characteristic)
    with pytest.raises(BleakError, match="Not connected"):
        await client.start_notify(characteristic, lambda _c, _d: None)


async def test_link_loss_during_a_read_raises_a_bleak_error(
    central: BumbleCentral, probe: Probe
) -> None:
    async with client_for(central, await find_probe(central)) as client:
        read = asyncio.create_task(client.read_gatt_char(SLOW_CHAR))
        await asyncio.sleep(0.05)
        await probe.connection.disconnect(hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR)
        with pytest.raises(BleakError, match="ended during a GATT operation"):
            await read
        probe.slow_read_release.set()


# Notifications and indications -----------------------------------------------------------------


async def test_notifications_arrive_as_bytearrays_in_order(
    central: BumbleCentral, probe: Probe
) -> None:
    received: list[bytearray] = []
    payloads = [i.to_bytes(2, "little") for i in range(200)]
    async with client_for(central, await find_probe(central)) as client:
        await client.start_notify(NOTIFY_CHAR, lambda _c, data: received.append(data))
        for payload in payloads:
            await probe.device.notify_subscribers(probe.notify, payload)
        async with asyncio.timeout(2):
            while len(received) < len(payloads):
                await asyncio.sleep(0.001)

    assert [bytes(r) for r in received] == payloads
    assert all(isinstance(r, bytearray) for r in received)


async def test_async_notification_callbacks_are_supported(
    central: BumbleCentral, probe: Probe
) -> None:
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_notify(_char: object, data: bytearray) -> None:
        await received.put(bytes(data))

    async with client_for(central, await find_probe(central)) as client:
        await client.start_notify(NOTIFY_CHAR, on_notify)
        await probe.device.notify_subscribers(probe.notify, b"\x01")
        async with asyncio.timeout(2):
            assert await received.get() == b"\x01"


async def test_indications_are_delivered_and_confirmed(
    central: BumbleCentral, probe: Probe
) -> None:
    received: list[bytes] = []
    async with client_for(central, await find_probe(central)) as client:
        await client.start_notify(INDICATE_CHAR, lambda _c, data: received.append(bytes(data)))
        for value in (b"\x10", b"\x11", b"\x12"):
            # indicate_subscribers returns once the central confirmed.
            async with asyncio.timeout(2):
                await probe.device.indicate_subscribers(probe.indicate, value)

    assert received == [b"\x10", b"\x11", b"\x12"]


async def test_notify_is_preferred_when_a_characteristic_offers_both(
    central: BumbleCentral, probe: Probe
) -> None:
    async with client_for(central, await find_probe(central)) as client:
        await client.start_notify(BOTH_CHAR, lambda _c, _d: None)
        cccd = probe.device.gatt_server.subscribers[probe.connection][probe.both.handle]

    assert cccd == b"\x01\x00"


async def test_stop_notify_ends_the_callbacks(central: BumbleCentral, probe: Probe) -> None:
    received: list[bytes] = []
    async with client_for(central, await find_probe(central)) as client:
        await client.start_notify(NOTIFY_CHAR, lambda _c, data: received.append(bytes(data)))
        await probe.device.notify_subscribers(probe.notify, b"\x01")
        await asyncio.sleep(0.01)
        await client.stop_notify(NOTIFY_CHAR)
        await probe.device.notify_subscribers(probe.notify, b"\x02")
        await probe.device.notify_subscribers(probe.notify, b"\x03", force=True)
        await asyncio.sleep(0.01)
        cccd = probe.device.gatt_server.subscribers[probe.connection][probe.notify.handle]

    assert received == [b"\x01"]
    assert cccd == b"\x00\x00"


async def test_notifications_must_be_rearmed_after_every_reconnect(
    central: BumbleCentral, probe: Probe
) -> None:
    received: list[bytes] = []
    client = client_for(central, await find_probe(central))
    await client.connect()
    await client.start_notify(NOTIFY_CHAR, lambda _c, data: received.append(bytes(data)))
    await client.disconnect()
    await probe.advertise()

    await client.connect()
    # A fresh link has no subscription on either side...
    subscribed_before = probe.device.gatt_server.subscribers.get(probe.connection, {})
    await probe.device.notify_subscribers(probe.notify, b"\x01", force=True)
    await asyncio.sleep(0.01)
    # ...until start_notify writes the CCCD again.
    await client.start_notify(NOTIFY_CHAR, lambda _c, data: received.append(bytes(data)))
    await probe.device.notify_subscribers(probe.notify, b"\x02")
    async with asyncio.timeout(2):
        while not received:
            await asyncio.sleep(0.001)
    await client.disconnect()

    assert subscribed_before == {}
    assert received == [b"\x02"]


# Disconnections --------------------------------------------------------------------------------


async def test_peripheral_side_link_loss_fires_the_disconnected_callback_once(
    central: BumbleCentral, probe: Probe
) -> None:
    disconnected: list[BleakClient] = []
    client = BleakClient(
        await find_probe(central),
        disconnected.append,
        backend=BumbleClient,
        bumble=central,
        timeout=2,
    )
    await client.connect()

    # What a central sees when a wearable walks out of range: reason 0x08, connection timeout.
    await probe.connection.disconnect(hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR)
    async with asyncio.timeout(2):
        while not disconnected:
            await asyncio.sleep(0.001)
    await client.disconnect()  # already gone: a no-op

    assert disconnected == [client]
    assert not client.is_connected


async def test_device_leaving_the_air_fires_the_disconnected_callback(
    radio: LocalRadio, central: BumbleCentral, probe: Probe
) -> None:
    disconnected = asyncio.Event()
    client = BleakClient(
        await find_probe(central),
        lambda _c: disconnected.set(),
        backend=BumbleClient,
        bumble=central,
        timeout=2,
    )
    await client.connect()

    radio.leave_air(probe.device)
    async with asyncio.timeout(2):
        await disconnected.wait()

    assert not client.is_connected


async def test_local_disconnect_fires_the_callback_once_like_bluez(
    central: BumbleCentral, probe: Probe
) -> None:
    disconnected: list[BleakClient] = []
    client = BleakClient(
        await find_probe(central),
        disconnected.append,
        backend=BumbleClient,
        bumble=central,
        timeout=2,
    )
    await client.connect()
    await client.disconnect()
    await client.disconnect()

    assert disconnected == [client]
    assert not client.is_connected


async def test_unpair_forgets_the_keys_and_disconnects(
    central: BumbleCentral, probe: Probe
) -> None:
    client = client_for(central, await find_probe(central), pair=True)
    await client.connect()
    await client.unpair()
    keystore = central.device.keystore
    assert keystore is not None

    assert not client.is_connected
    assert await keystore.get_all() == []


# bleak-retry-connector ---------------------------------------------------------------------------


@pytest.mark.parametrize("client_class", [BleakClient, BleakClientWithServiceCache])
async def test_establish_connection_passes_the_backend_through(
    central: BumbleCentral, probe: Probe, client_class: type[BleakClient]
) -> None:
    device = await find_probe(central)

    client = await establish_connection(
        client_class, device, PROBE_NAME, max_attempts=1, **client_options(central)
    )
    try:
        value = await client.read_gatt_char(READ_CHAR)
    finally:
        await client.disconnect()

    assert isinstance(client, client_class)
    assert value == bytearray(b"vigil")
