"""The pulse oximeter: PLX continuous notifications about 1 Hz, spot-checks indicated."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from bumble.gatt import Characteristic, Service

from devices.emulation.scenario import DeviceKind
from devices.emulation.wearables.base import Wearable, pushed, readable
from devices.emulation.wearables.readings import PLX_FEATURES, plx_continuous, plx_spot_check
from devices.gatt import encode_plx_continuous, encode_plx_features, encode_plx_spot_check
from devices.gatt.uuids import (
    PLX_CONTINUOUS_MEASUREMENT_UUID,
    PLX_FEATURES_UUID,
    PLX_SPOT_CHECK_MEASUREMENT_UUID,
    PULSE_OXIMETER_SERVICE_UUID,
    PULSE_OXIMETER_SERVICE_UUID16,
)


class PulseOximeter(Wearable):
    kind: ClassVar[DeviceKind] = DeviceKind.PULSE_OXIMETER
    service_uuid16: ClassVar[int] = PULSE_OXIMETER_SERVICE_UUID16

    def build_services(self) -> list[Service]:
        self.spot_check = pushed(
            PLX_SPOT_CHECK_MEASUREMENT_UUID, Characteristic.Properties.INDICATE
        )
        self.continuous = pushed(PLX_CONTINUOUS_MEASUREMENT_UUID, Characteristic.Properties.NOTIFY)
        features = readable(PLX_FEATURES_UUID, encode_plx_features(PLX_FEATURES))
        return [Service(PULSE_OXIMETER_SERVICE_UUID, [self.spot_check, self.continuous, features])]

    async def behaviour(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._continuous())
            tasks.create_task(self._spot_checks())

    async def _continuous(self) -> None:
        period = self.period_s(self.spec.period_s)
        due = self.clock.now()
        while True:
            await self.sleep_until(due)
            t = self.clock.now()
            await self.notify(self.continuous, encode_plx_continuous(plx_continuous(self.model, t)))
            due = max(due + period, t)

    async def _spot_checks(self) -> None:
        """Spot-checks are not stored: one no central takes is lost, as on most oximeters."""
        for t in self.model.spot_check_times():
            if t < self.clock.now():
                continue
            await self.sleep_until(t)
            reading = plx_spot_check(self.model, t)
            await self.indicate(self.spot_check, encode_plx_spot_check(reading))
