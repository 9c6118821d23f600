"""One emulator process of the end-to-end benchmark: real wearables that log their notify times.

    python -m bench.e2e_wearables SPEC.json

The spec names the radio hub, the scenario files (one heart-rate strap each), each strap's
device id and real-time phase, how many seconds to run and where to write the record. The
straps are `devices.emulation`'s `HeartRateStrap`, subclassed only to note the Unix time just
before each measurement notification goes to bumble.

Each strap has its own `ScaledClock` at 1x, paused while the gateway connects; on stdin `go`
strap i's clock resumes `phase_s` later, so notifications are spread over the second the way
independent straps are (one shared clock would make every strap notify at the same instant).
The straps go on the air in waves of `WAVE`, each wave once the previous one is linked, and
advertise once a second: every advertisement reaches every one of the gateway's pending
scanners (one per unlinked device), so 100 straps advertising at 20 ms (or 10 at 100 ms) kept
the gateway's loop saturated (its MQTT link timed out, connects were cancelled) for minutes
without linking one strap. Advertising only matters until the link is up.
Protocol on stdout: `opened N`, `linked` (every strap has a subscriber), `done` (the record is
written, clocks paused; the links stay up until SIGTERM).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from bumble.gatt import Characteristic

from devices.emulation.clock import ScaledClock
from devices.emulation.hub import HubAir, HubEndpoint
from devices.emulation.scenario import SessionModel
from devices.emulation.scenario_file import load_scenario
from devices.emulation.signals import until_signalled
from devices.emulation.wearables.heart_rate import HeartRateStrap
from devices.gatt import parse_heart_rate_measurement

logger = logging.getLogger("bench.e2e_wearables")

LINK_TIMEOUT_S = 120.0  # per wave
ADVERTISING_INTERVAL_MS = 1000.0
WAVE = 5  # straps that go on the air together
SETTLE_S = 0.5


class TimedStrap(HeartRateStrap):
    """A `HeartRateStrap` that records (Unix time, payload) of each measurement it notifies."""

    sent: list[tuple[float, bytes]]

    async def notify(self, characteristic: Characteristic[bytes], payload: bytes) -> None:
        if characteristic is self.measurement and self.subscribed(characteristic):
            self.sent.append((time.time(), payload))
        await super().notify(characteristic, payload)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _read_line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def emulate(spec: dict[str, Any]) -> None:
    air = HubAir(HubEndpoint.parse(spec["hub"]))
    straps: list[tuple[str, float, ScaledClock, TimedStrap]] = []
    try:
        for item in spec["wearables"]:
            scenario = load_scenario(Path(item["scenario"]))
            (device_spec,) = scenario.devices
            clock = ScaledClock(1.0, paused=True)
            device = await air.open_device(name=device_spec.name, address=device_spec.address)
            strap = TimedStrap(
                device=device,
                spec=device_spec,
                model=SessionModel(scenario),
                clock=clock,
                advertising_interval_ms=ADVERTISING_INTERVAL_MS,
            )
            strap.sent = []
            straps.append((item["device"], float(item["phase_s"]), clock, strap))
        _say(f"opened {len(straps)}")
        async with asyncio.TaskGroup() as tasks:
            running = []
            for first in range(0, len(straps), WAVE):
                wave = [s for *_, s in straps[first : first + WAVE]]
                running += [tasks.create_task(s.run()) for s in wave]
                await _until_linked(wave)
                logger.warning("linked %d of %d", first + len(wave), len(straps))
            _say("linked")
            while (await _read_line()).strip() != "go":
                pass
            loop = asyncio.get_running_loop()
            for _, phase_s, clock, _ in straps:
                loop.call_later(phase_s, clock.resume)
            await asyncio.sleep(float(spec["seconds"]) + max(p for _, p, _, _ in straps))
            for _, _, clock, _ in straps:
                clock.pause()
            await asyncio.sleep(SETTLE_S)  # a notification already past its clock check
            _write(Path(spec["out"]), straps)
            _say("done")
            await asyncio.Event().wait()  # links stay up while the pipeline drains
            for task in running:
                task.cancel()
    finally:
        await air.aclose()


async def _until_linked(straps: list[TimedStrap]) -> None:
    async with asyncio.timeout(LINK_TIMEOUT_S):
        while not all(s.subscribed(s.measurement) for s in straps):  # noqa: ASYNC110 - bumble has no "subscribed" event to wait on
            await asyncio.sleep(0.1)


def _write(out: Path, straps: list[tuple[str, float, ScaledClock, TimedStrap]]) -> None:
    record = [
        [device, t, parse_heart_rate_measurement(payload).bpm]
        for device, _, _, strap in straps
        for t, payload in strap.sent
    ]
    out.write_text(json.dumps(record))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text())
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(until_signalled(emulate(spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
