"""`vigil gateway`: run the home gateway from a TOML config (see `devices.gateway.config`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from pathlib import Path

from devices.gateway import config
from devices.gateway.app import Gateway
from devices.gateway.link import BleBackend


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="gateway TOML file")
    parser.add_argument(
        "--emulated-hub",
        metavar="HOST:PORT",
        help="use bumble-emulated wearables through this hub instead of the host's Bluetooth",
    )


@contextlib.asynccontextmanager
async def ble_backend(emulated_hub: str | None) -> AsyncIterator[BleBackend]:
    if emulated_hub is None:
        yield BleBackend()  # bleak's default backend: BlueZ, CoreBluetooth or WinRT
        return
    # Imported here: production gateways never load bumble.
    from devices.emulation.backend import BumbleClient, BumbleScanner  # noqa: PLC0415
    from devices.emulation.hub import HubEndpoint, hub_central  # noqa: PLC0415

    async with hub_central(HubEndpoint.parse(emulated_hub)) as central:
        yield BleBackend(
            scanner_kwargs={"backend": BumbleScanner, "bumble": central},
            client_kwargs={"backend": BumbleClient, "bumble": central},
        )


async def serve(settings: config.GatewaySettings, emulated_hub: str | None) -> None:
    async with ble_backend(emulated_hub) as ble:
        gateway = Gateway(settings, ble)
        task = asyncio.create_task(gateway.run())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task


def run(args: argparse.Namespace) -> int:
    settings = config.load(args.config)
    asyncio.run(serve(settings, args.emulated_hub))
    return 0
