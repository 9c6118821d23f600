"""Errors of the bumble backend, rooted in `BleakError` so callers of bleak catch them as usual."""

from __future__ import annotations

from bleak.exc import BleakError


class BumbleBackendError(BleakError):
    """Root of the bumble backend's errors."""


class BumbleBackendNotConfiguredError(BumbleBackendError):
    """The backend was built without the shared `BumbleCentral`."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} needs the shared adapter: pass bumble=BumbleCentral(device) next to "
            "backend=... (bleak forwards extra keyword arguments to the backend)"
        )


class BumbleConnectTimeoutError(BumbleBackendError, TimeoutError):
    """No connection within the timeout.

    Both a `BleakError` and a `TimeoutError`: code written for BlueZ (which raises
    `TimeoutError`) and for bleak's error tree both catch it, and bleak-retry-connector
    retries it as a timeout.
    """


class BumbleDisconnectedError(BumbleBackendError):
    """The link ended while an operation was waiting for the peer."""
