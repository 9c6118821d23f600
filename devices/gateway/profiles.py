"""What the gateway subscribes to for each device kind, as data: characteristic, parser, and
how its measurement becomes an observation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devices import gatt
from devices.gateway import observations
from devices.gatt import uuids
from vigil.wire import DeviceKind


@dataclass(frozen=True, slots=True)
class Subscription:
    characteristic: str  # 128-bit UUID
    name: str
    parse: Callable[[bytes], Any]
    observe: Callable[[Any], observations.Observation]
    # BP cuffs indicate the readings they stored while unconnected in one burst with the one
    # just taken: the burst is classified as a whole (`bursts.py`).
    arrives_in_bursts: bool = False


SERVICE_OF_KIND: dict[DeviceKind, str] = {
    "hr_strap": uuids.HEART_RATE_SERVICE_UUID,
    "bp_cuff": uuids.BLOOD_PRESSURE_SERVICE_UUID,
    "pulse_oximeter": uuids.PULSE_OXIMETER_SERVICE_UUID,
}

SUBSCRIPTIONS: dict[DeviceKind, tuple[Subscription, ...]] = {
    "hr_strap": (
        Subscription(
            uuids.HEART_RATE_MEASUREMENT_UUID,
            "heart rate measurement",
            gatt.parse_heart_rate_measurement,
            observations.from_heart_rate,
        ),
    ),
    "bp_cuff": (
        Subscription(
            uuids.INTERMEDIATE_CUFF_PRESSURE_UUID,
            "intermediate cuff pressure",
            gatt.parse_intermediate_cuff_pressure,
            observations.from_intermediate_cuff_pressure,
        ),
        Subscription(
            uuids.BLOOD_PRESSURE_MEASUREMENT_UUID,
            "blood pressure measurement",
            gatt.parse_blood_pressure_measurement,
            observations.from_blood_pressure,
            arrives_in_bursts=True,
        ),
    ),
    "pulse_oximeter": (
        Subscription(
            uuids.PLX_CONTINUOUS_MEASUREMENT_UUID,
            "PLX continuous measurement",
            gatt.parse_plx_continuous,
            observations.from_plx_continuous,
        ),
        Subscription(
            uuids.PLX_SPOT_CHECK_MEASUREMENT_UUID,
            "PLX spot-check measurement",
            gatt.parse_plx_spot_check,
            observations.from_plx_spot_check,
        ),
    ),
}
