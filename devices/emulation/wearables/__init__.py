"""Emulated wearables: bumble peripherals that send what the scenario model says."""

from devices.emulation.wearables.base import Wearable
from devices.emulation.wearables.blood_pressure import BloodPressureCuff
from devices.emulation.wearables.heart_rate import HeartRateStrap
from devices.emulation.wearables.patient import WEARABLE_TYPES, run_patient, start_wearables
from devices.emulation.wearables.pulse_oximeter import PulseOximeter

__all__ = [
    "WEARABLE_TYPES",
    "BloodPressureCuff",
    "HeartRateStrap",
    "PulseOximeter",
    "Wearable",
    "run_patient",
    "start_wearables",
]
