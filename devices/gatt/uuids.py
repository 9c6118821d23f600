"""Bluetooth SIG assigned numbers of the services and characteristics Vigil reads.

Each one is available as a 16-bit int (``*_UUID16``) and as the full 128-bit UUID string in
lowercase (``*_UUID``), the form bleak and bumble take. Source: Bluetooth SIG Assigned Numbers,
sections 3.4 (GATT services) and 3.8 (characteristics).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

_BASE_UUID_SUFFIX: Final = "-0000-1000-8000-00805f9b34fb"


def uuid128(uuid16: int) -> str:
    """The full 128-bit UUID string of a 16-bit assigned number (Bluetooth Base UUID)."""
    if not 0 <= uuid16 <= 0xFFFF:
        msg = f"a 16-bit assigned number is 0..0xFFFF, got {uuid16:#x}"
        raise ValueError(msg)
    return f"0000{uuid16:04x}{_BASE_UUID_SUFFIX}"


# Services
HEART_RATE_SERVICE_UUID16: Final = 0x180D
BLOOD_PRESSURE_SERVICE_UUID16: Final = 0x1810
PULSE_OXIMETER_SERVICE_UUID16: Final = 0x1822
BATTERY_SERVICE_UUID16: Final = 0x180F
DEVICE_INFORMATION_SERVICE_UUID16: Final = 0x180A

# Characteristics
HEART_RATE_MEASUREMENT_UUID16: Final = 0x2A37
BODY_SENSOR_LOCATION_UUID16: Final = 0x2A38
BLOOD_PRESSURE_MEASUREMENT_UUID16: Final = 0x2A35
INTERMEDIATE_CUFF_PRESSURE_UUID16: Final = 0x2A36
BLOOD_PRESSURE_FEATURE_UUID16: Final = 0x2A49
PLX_SPOT_CHECK_MEASUREMENT_UUID16: Final = 0x2A5E
PLX_CONTINUOUS_MEASUREMENT_UUID16: Final = 0x2A5F
PLX_FEATURES_UUID16: Final = 0x2A60
BATTERY_LEVEL_UUID16: Final = 0x2A19
MANUFACTURER_NAME_STRING_UUID16: Final = 0x2A29
MODEL_NUMBER_STRING_UUID16: Final = 0x2A24
SERIAL_NUMBER_STRING_UUID16: Final = 0x2A25
FIRMWARE_REVISION_STRING_UUID16: Final = 0x2A26

HEART_RATE_SERVICE_UUID: Final = uuid128(HEART_RATE_SERVICE_UUID16)
BLOOD_PRESSURE_SERVICE_UUID: Final = uuid128(BLOOD_PRESSURE_SERVICE_UUID16)
PULSE_OXIMETER_SERVICE_UUID: Final = uuid128(PULSE_OXIMETER_SERVICE_UUID16)
BATTERY_SERVICE_UUID: Final = uuid128(BATTERY_SERVICE_UUID16)
DEVICE_INFORMATION_SERVICE_UUID: Final = uuid128(DEVICE_INFORMATION_SERVICE_UUID16)

HEART_RATE_MEASUREMENT_UUID: Final = uuid128(HEART_RATE_MEASUREMENT_UUID16)
BODY_SENSOR_LOCATION_UUID: Final = uuid128(BODY_SENSOR_LOCATION_UUID16)
BLOOD_PRESSURE_MEASUREMENT_UUID: Final = uuid128(BLOOD_PRESSURE_MEASUREMENT_UUID16)
INTERMEDIATE_CUFF_PRESSURE_UUID: Final = uuid128(INTERMEDIATE_CUFF_PRESSURE_UUID16)
BLOOD_PRESSURE_FEATURE_UUID: Final = uuid128(BLOOD_PRESSURE_FEATURE_UUID16)
PLX_SPOT_CHECK_MEASUREMENT_UUID: Final = uuid128(PLX_SPOT_CHECK_MEASUREMENT_UUID16)
PLX_CONTINUOUS_MEASUREMENT_UUID: Final = uuid128(PLX_CONTINUOUS_MEASUREMENT_UUID16)
PLX_FEATURES_UUID: Final = uuid128(PLX_FEATURES_UUID16)
BATTERY_LEVEL_UUID: Final = uuid128(BATTERY_LEVEL_UUID16)
MANUFACTURER_NAME_STRING_UUID: Final = uuid128(MANUFACTURER_NAME_STRING_UUID16)
MODEL_NUMBER_STRING_UUID: Final = uuid128(MODEL_NUMBER_STRING_UUID16)
SERIAL_NUMBER_STRING_UUID: Final = uuid128(SERIAL_NUMBER_STRING_UUID16)
FIRMWARE_REVISION_STRING_UUID: Final = uuid128(FIRMWARE_REVISION_STRING_UUID16)

ASSIGNED_NAMES: Final = MappingProxyType(
    {
        HEART_RATE_SERVICE_UUID16: "Heart Rate",
        BLOOD_PRESSURE_SERVICE_UUID16: "Blood Pressure",
        PULSE_OXIMETER_SERVICE_UUID16: "Pulse Oximeter",
        BATTERY_SERVICE_UUID16: "Battery",
        DEVICE_INFORMATION_SERVICE_UUID16: "Device Information",
        HEART_RATE_MEASUREMENT_UUID16: "Heart Rate Measurement",
        BODY_SENSOR_LOCATION_UUID16: "Body Sensor Location",
        BLOOD_PRESSURE_MEASUREMENT_UUID16: "Blood Pressure Measurement",
        INTERMEDIATE_CUFF_PRESSURE_UUID16: "Intermediate Cuff Pressure",
        BLOOD_PRESSURE_FEATURE_UUID16: "Blood Pressure Feature",
        PLX_SPOT_CHECK_MEASUREMENT_UUID16: "PLX Spot-Check Measurement",
        PLX_CONTINUOUS_MEASUREMENT_UUID16: "PLX Continuous Measurement",
        PLX_FEATURES_UUID16: "PLX Features",
        BATTERY_LEVEL_UUID16: "Battery Level",
        MANUFACTURER_NAME_STRING_UUID16: "Manufacturer Name String",
        MODEL_NUMBER_STRING_UUID16: "Model Number String",
        SERIAL_NUMBER_STRING_UUID16: "Serial Number String",
        FIRMWARE_REVISION_STRING_UUID16: "Firmware Revision String",
    }
)
"""Spec names of the assigned numbers above, by 16-bit value."""


def describe(uuid16: int) -> str:
    """``"0x2A37 Heart Rate Measurement"``: how errors and logs name an assigned number."""
    name = ASSIGNED_NAMES.get(uuid16)
    return f"0x{uuid16:04X}" if name is None else f"0x{uuid16:04X} {name}"
