"""The keyword arguments that put bleak on this backend, ready to splat.

bleak's typed convenience methods (`BleakScanner.discover`, `find_device_by_*`) only declare
bleak's own keywords, so `bumble=` written out fails `mypy --strict` although bleak forwards it
at run time. A `dict[str, Any]` splat type-checks everywhere; the gateway keeps one such
mapping per role (empty in production: bleak's default backend).
"""

from __future__ import annotations

from typing import Any

from devices.emulation.backend.central import BumbleCentral
from devices.emulation.backend.client import BumbleClient
from devices.emulation.backend.scanner import BumbleScanner


def scanner_options(central: BumbleCentral) -> dict[str, Any]:
    """For `BleakScanner(...)`, `BleakScanner.discover(...)`, `find_device_by_*(...)`."""
    return {"backend": BumbleScanner, "bumble": central}


def client_options(central: BumbleCentral) -> dict[str, Any]:
    """For `BleakClient(...)` and `bleak_retry_connector.establish_connection(...)`."""
    return {"backend": BumbleClient, "bumble": central}
