"""A bleak backend over bumble: `BleakScanner(backend=BumbleScanner, bumble=central)`,
`BleakClient(device, backend=BumbleClient, bumble=central)`."""

from devices.emulation.backend.central import BumbleCentral, BumbleDeviceDetails
from devices.emulation.backend.client import BumbleClient
from devices.emulation.backend.errors import (
    BumbleBackendError,
    BumbleBackendNotConfiguredError,
    BumbleConnectTimeoutError,
    BumbleDisconnectedError,
)
from devices.emulation.backend.options import client_options, scanner_options
from devices.emulation.backend.scanner import BumbleScanner

__all__ = [
    "BumbleBackendError",
    "BumbleBackendNotConfiguredError",
    "BumbleCentral",
    "BumbleClient",
    "BumbleConnectTimeoutError",
    "BumbleDeviceDetails",
    "BumbleDisconnectedError",
    "BumbleScanner",
    "client_options",
    "scanner_options",
]
