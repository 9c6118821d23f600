"""The blood-pressure cuff: measures on the model's schedule, connects, indicates, disconnects.

For each cuff cycle it advertises a little before inflating, notifies the cuff pressure
(0x2A36) while inflating if a central subscribed, then stores the reading and indicates every
stored reading (0x2A35), oldest first, as soon as a central subscribed to indications; once
all are confirmed it ends the link itself. Readings no central picked up stay stored and are
indicated at the next connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, ClassVar, Final

from bumble.gatt import Characteristic, Service

from devices.emulation.scenario import CuffCycle, DeviceKind
from devices.emulation.wearables.base import (
    REMOTE_USER_TERMINATED,
    Wearable,
    pushed,
    raise_if_cancel_lost,
    readable,
)
from devices.emulation.wearables.readings import (
    BLOOD_PRESSURE_FEATURE,
    blood_pressure_measurement,
    intermediate_cuff_pressure,
)
from devices.gatt import (
    encode_blood_pressure_feature,
    encode_blood_pressure_measurement,
    encode_intermediate_cuff_pressure,
)
from devices.gatt.uuids import (
    BLOOD_PRESSURE_FEATURE_UUID,
    BLOOD_PRESSURE_MEASUREMENT_UUID,
    BLOOD_PRESSURE_SERVICE_UUID,
    BLOOD_PRESSURE_SERVICE_UUID16,
    INTERMEDIATE_CUFF_PRESSURE_UUID,
)

if TYPE_CHECKING:
    from bumble.device import Connection

logger = logging.getLogger(__name__)

# Scenario seconds: advertising starts this long before inflation, and a cuff with stored
# readings keeps advertising this long after its last measurement.
ADVERTISE_BEFORE_S: Final = 15.0
DELIVERY_WINDOW_S: Final = 120.0
CUFF_PRESSURE_PERIOD_S: Final = 1.0


class BloodPressureCuff(Wearable):
    kind: ClassVar[DeviceKind] = DeviceKind.BLOOD_PRESSURE
    service_uuid16: ClassVar[int] = BLOOD_PRESSURE_SERVICE_UUID16

    def build_services(self) -> list[Service]:
        self.measurement = pushed(
            BLOOD_PRESSURE_MEASUREMENT_UUID, Characteristic.Properties.INDICATE
        )
        self.cuff_pressure = pushed(
            INTERMEDIATE_CUFF_PRESSURE_UUID, Characteristic.Properties.NOTIFY
        )
        self.stored: deque[CuffCycle] = deque()
        self._delivery_wanted = asyncio.Event()
        feature = readable(
            BLOOD_PRESSURE_FEATURE_UUID, encode_blood_pressure_feature(BLOOD_PRESSURE_FEATURE)
        )
        self.measurement.on(Characteristic.EVENT_SUBSCRIPTION, self._on_subscription)
        return [
            Service(BLOOD_PRESSURE_SERVICE_UUID, [self.measurement, self.cuff_pressure, feature])
        ]

    def wants_link(self, t: float) -> bool:
        for cycle in self.model.cuff_cycles():
            if cycle.start_s - ADVERTISE_BEFORE_S <= t < cycle.end_s:
                return True
        last_end = max((c.end_s for c in self.stored), default=None)
        return last_end is not None and t < last_end + DELIVERY_WINDOW_S

    def _on_subscription(self, _connection: Connection, _notify: bool, indicate: bool) -> None:
        if indicate:
            self._delivery_wanted.set()

    async def behaviour(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._measure())
            tasks.create_task(self._deliver_when_wanted())

    async def _measure(self) -> None:
        period = self.period_s(CUFF_PRESSURE_PERIOD_S)
        for cycle in self.model.cuff_cycles():
            if cycle.end_s <= self.clock.now():
                continue  # the run started after this cycle
            await self.sleep_until(cycle.start_s)
            t = self.clock.now()
            while t < cycle.end_s:
                pressure = intermediate_cuff_pressure(cycle, t)
                await self.notify(self.cuff_pressure, encode_intermediate_cuff_pressure(pressure))
                await self.sleep_until(min(t + period, cycle.end_s))
                t = self.clock.now()
            self.stored.append(cycle)
            logger.debug("%s measured cycle %d", self._log, cycle.index)
            self._delivery_wanted.set()

    async def _deliver_when_wanted(self) -> None:
        while True:
            await self._delivery_wanted.wait()
            self._delivery_wanted.clear()
            await self._deliver()
            raise_if_cancel_lost()

    async def _deliver(self) -> None:
        if not self.stored or not self.subscribed(self.measurement, indicate=True):
            return
        while self.stored:
            reading = blood_pressure_measurement(self.model, self.stored[0])
            if not await self.indicate(
                self.measurement, encode_blood_pressure_measurement(reading)
            ):
                return
            self.stored.popleft()
        await self.drop_link(REMOTE_USER_TERMINATED)
