"""The heart-rate strap: Heart Rate Service with RR intervals and skin contact, about 1 Hz.

Like a Polar H10 it drops the link 20-30 s after losing skin contact and stays silent until
the contact is back (the model's `Presence.ASLEEP`).
"""

from __future__ import annotations

from typing import ClassVar, Final

from bumble.gatt import Characteristic, Service

from devices.emulation.scenario import BeatTrain, DeviceKind
from devices.emulation.wearables.base import Wearable, pushed, readable
from devices.emulation.wearables.readings import heart_rate_measurement
from devices.gatt import encode_heart_rate_measurement
from devices.gatt.uuids import (
    BODY_SENSOR_LOCATION_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
    HEART_RATE_SERVICE_UUID16,
)

BODY_SENSOR_LOCATION_CHEST: Final = 0x01


class HeartRateStrap(Wearable):
    kind: ClassVar[DeviceKind] = DeviceKind.HEART_RATE
    service_uuid16: ClassVar[int] = HEART_RATE_SERVICE_UUID16

    def build_services(self) -> list[Service]:
        self.measurement = pushed(HEART_RATE_MEASUREMENT_UUID, Characteristic.Properties.NOTIFY)
        location = readable(BODY_SENSOR_LOCATION_UUID, bytes([BODY_SENSOR_LOCATION_CHEST]))
        return [Service(HEART_RATE_SERVICE_UUID, [self.measurement, location])]

    async def behaviour(self) -> None:
        period = self.period_s(self.spec.period_s)
        beats: BeatTrain | None = None
        due = self.clock.now()
        while True:
            await self.sleep_until(due)
            t = self.clock.now()
            if self.subscribed(self.measurement):
                beats = beats or BeatTrain(self.model, t)
                rr_intervals = beats.advance(t)
                reading = heart_rate_measurement(self.model, t, rr_intervals)
                await self.notify(self.measurement, encode_heart_rate_measurement(reading))
            else:
                beats = None  # a new link starts a new beat train
            due = max(due + period, t)
