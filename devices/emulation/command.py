"""`vigil emulate`: run emulated patients' wearables on a radio hub.

    vigil emulate --scenario scenarios/typical-session.toml --start-hub 127.0.0.1:7878
    vigil emulate --scenario a.toml --scenario b.toml --hub 127.0.0.1:7878 --speed 60

With `--start-hub` this process owns the air (its wearables join it directly) and other
processes join over TCP; with `--hub` the wearables join a hub started elsewhere. The run
ends when every scenario's session has ended, or on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from devices.emulation.addresses import address_for_log
from devices.emulation.clock import ScaledClock
from devices.emulation.errors import EmulationError, ScenarioError
from devices.emulation.hub import Hub, HubAir, HubEndpoint
from devices.emulation.radio import Air
from devices.emulation.scenario import MINUTE, Scenario
from devices.emulation.scenario_file import load_scenario
from devices.emulation.signals import until_signalled
from devices.emulation.wearables import run_patient
from devices.emulation.wearables.base import DEFAULT_ADVERTISING_INTERVAL_MS

logger = logging.getLogger(__name__)

DEFAULT_SPEED: Final = 60.0
DEFAULT_HUB: Final = "127.0.0.1:0"
EXIT_CONFIG_ERROR: Final = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class EmulateSettings:
    """Everything `vigil emulate` was asked to do, checked."""

    scenarios: tuple[Scenario, ...]
    speed: float
    join_hub: HubEndpoint | None
    start_hub: HubEndpoint | None
    start_s: float
    advertising_interval_ms: float

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> EmulateSettings:
        """Load and check the scenarios; raises `EmulationError` with what to fix."""
        if args.speed <= 0:
            raise EmulationError(f"--speed must be positive, got {args.speed}")
        scenarios = tuple(
            load_scenario(Path(p), seed=None if args.seed is None else args.seed + i)
            for i, p in enumerate(args.scenario)
        )
        addresses = [d.address for s in scenarios for d in s.devices]
        if duplicates := sorted({a for a in addresses if addresses.count(a) > 1}):
            hashed = ", ".join(address_for_log(a) for a in duplicates)
            raise ScenarioError(
                f"two wearables share an address (hashed: {hashed}); give each patient its "
                "own patient id or seed, or set the addresses"
            )
        return cls(
            scenarios=scenarios,
            speed=args.speed,
            join_hub=HubEndpoint.parse(args.hub) if args.hub else None,
            start_hub=HubEndpoint.parse(args.start_hub) if args.start_hub else None,
            start_s=args.start_min * MINUTE,
            advertising_interval_ms=args.advertising_interval_ms,
        )


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--scenario",
        action="append",
        required=True,
        metavar="FILE",
        help="scenario TOML file, one patient each (repeatable)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help=f"scenario seconds per real second (default {DEFAULT_SPEED:g})",
    )
    hub = parser.add_mutually_exclusive_group(required=True)
    hub.add_argument("--hub", metavar="HOST:PORT", help="join the radio hub at HOST:PORT")
    hub.add_argument(
        "--start-hub",
        nargs="?",
        const=DEFAULT_HUB,
        metavar="HOST:PORT",
        help="start a radio hub in this process (default: 127.0.0.1, any free port)",
    )
    parser.add_argument(
        "--seed", type=int, help="override the scenarios' seeds (patient i gets SEED + i)"
    )
    parser.add_argument(
        "--start-min", type=float, default=0.0, help="start this many minutes into the sessions"
    )
    parser.add_argument(
        "--advertising-interval-ms",
        type=float,
        default=DEFAULT_ADVERTISING_INTERVAL_MS,
        help=f"advertising interval (default {DEFAULT_ADVERTISING_INTERVAL_MS:g} ms)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        settings = EmulateSettings.from_args(args)
    except EmulationError as error:
        logger.error("%s", error)  # noqa: TRY400 (the message says what to fix)
        return EXIT_CONFIG_ERROR
    try:
        asyncio.run(until_signalled(emulate(settings)))
    except EmulationError as error:
        logger.error("%s", error)  # noqa: TRY400 (the message says what to fix)
        return EXIT_CONFIG_ERROR
    return 0


async def emulate(settings: EmulateSettings) -> None:
    """Run every patient until the longest session ends (or until cancelled)."""
    air: Air
    if settings.start_hub is not None:
        hub = Hub()
        air = hub
        bound = await hub.listen(settings.start_hub)
        sys.stdout.write(f"listening on {bound}\n")
        sys.stdout.flush()
    elif settings.join_hub is not None:
        air = HubAir(settings.join_hub)
    else:
        raise EmulationError("give --hub HOST:PORT or --start-hub")
    clock = ScaledClock(settings.speed, start_s=settings.start_s)
    end_s = max(s.duration_s for s in settings.scenarios)
    logger.info(
        "emulating %d patient(s) at %gx from minute %g",
        len(settings.scenarios),
        settings.speed,
        settings.start_s / MINUTE,
    )
    try:
        async with asyncio.TaskGroup() as tasks:
            patients = [
                tasks.create_task(
                    run_patient(
                        air,
                        scenario,
                        clock,
                        advertising_interval_ms=settings.advertising_interval_ms,
                    )
                )
                for scenario in settings.scenarios
            ]
            await clock.sleep_until(end_s)
            logger.info("sessions ended")
            for patient in patients:
                patient.cancel()
    finally:
        await air.aclose()
