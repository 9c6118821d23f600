"""One patient's wearables, opened on an `Air` and run together."""

from __future__ import annotations

import asyncio
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from devices.emulation.scenario import DeviceKind, Scenario, SessionModel
from devices.emulation.wearables.base import DEFAULT_ADVERTISING_INTERVAL_MS, Wearable
from devices.emulation.wearables.blood_pressure import BloodPressureCuff
from devices.emulation.wearables.heart_rate import HeartRateStrap
from devices.emulation.wearables.pulse_oximeter import PulseOximeter

if TYPE_CHECKING:
    from devices.emulation.clock import Clock
    from devices.emulation.radio import Air

WEARABLE_TYPES: Final[MappingProxyType[DeviceKind, type[Wearable]]] = MappingProxyType(
    {
        DeviceKind.HEART_RATE: HeartRateStrap,
        DeviceKind.BLOOD_PRESSURE: BloodPressureCuff,
        DeviceKind.PULSE_OXIMETER: PulseOximeter,
    }
)


async def start_wearables(
    air: Air,
    scenario: Scenario,
    clock: Clock,
    *,
    advertising_interval_ms: float = DEFAULT_ADVERTISING_INTERVAL_MS,
) -> list[Wearable]:
    """Open a bumble device per wearable of the scenario (they run once `run()` is awaited)."""
    model = SessionModel(scenario)
    wearables: list[Wearable] = []
    for spec in scenario.devices:
        device = await air.open_device(name=spec.name, address=spec.address)
        wearable_type = WEARABLE_TYPES[spec.kind]
        wearables.append(
            wearable_type(
                device=device,
                spec=spec,
                model=model,
                clock=clock,
                advertising_interval_ms=advertising_interval_ms,
            )
        )
    return wearables


async def run_patient(
    air: Air,
    scenario: Scenario,
    clock: Clock,
    *,
    advertising_interval_ms: float = DEFAULT_ADVERTISING_INTERVAL_MS,
) -> None:
    """Run every wearable of the scenario until cancelled."""
    wearables = await start_wearables(
        air, scenario, clock, advertising_interval_ms=advertising_interval_ms
    )
    async with asyncio.TaskGroup() as tasks:
        for wearable in wearables:
            tasks.create_task(wearable.run())
