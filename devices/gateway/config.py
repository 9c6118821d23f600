"""Gateway settings: one frozen object built from a TOML file and the environment at start.

```toml
[gateway]
id = "gw-home-01"                 # pseudonymous
outbox = "run/gateway/outbox.sqlite"
outbox_max_readings = 500000
lateness_s = 10                   # published later than this after receipt -> historical
max_per_batch = 50

[mqtt]
url = "mqtt://127.0.0.1:1883"     # env VIGIL_MQTT_URL wins; password also from VIGIL_MQTT_PASSWORD

[ble]
scan_timeout_s = 10

[[devices]]
id = "hr-01"                      # pseudonymous device id used on the wire
kind = "hr_strap"                 # hr_strap | bp_cuff | pulse_oximeter
session = "S-0001"
address = "C4:7C:8D:6A:12:34"     # match by address, or by `name`, or by the kind's service
```
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast, get_args

from devices.errors import DevicesError
from devices.gateway.backoff import Backoff
from vigil.mqtt_settings import MqttSettings
from vigil.wire import DeviceKind, valid_id

DEFAULT_OUTBOX = Path("run/gateway/outbox.sqlite")


class GatewayConfigError(DevicesError):
    """The gateway configuration is invalid; the message names the key."""


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    id: str
    kind: DeviceKind
    session: str
    address: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    id: str
    mqtt: MqttSettings
    devices: tuple[DeviceConfig, ...]
    outbox: Path = DEFAULT_OUTBOX
    outbox_max_readings: int = 500_000
    lateness_s: float = 10.0
    max_per_batch: int = 50
    max_in_flight: int = 100
    scan_timeout_s: float = 10.0
    connect_timeout_s: float = 20.0
    publish_timeout_s: float = 10.0
    backoff: Backoff = field(default_factory=Backoff)


def _need(table: Mapping[str, Any], key: str, where: str) -> Any:  # noqa: ANN401 - TOML values
    if key not in table:
        raise GatewayConfigError(f"{where}: `{key}` is required")
    return table[key]


def _device(raw: Mapping[str, Any], index: int) -> DeviceConfig:
    where = f"devices[{index}]"
    device_id, kind, session = (_need(raw, k, where) for k in ("id", "kind", "session"))
    for key, value in (("id", device_id), ("session", session)):
        if not isinstance(value, str) or not valid_id(value):
            raise GatewayConfigError(f"{where}.{key}: a pseudonymous id is required, got {value!r}")
    if kind not in get_args(DeviceKind):
        raise GatewayConfigError(f"{where}.kind: one of {get_args(DeviceKind)}, got {kind!r}")
    address, name = raw.get("address"), raw.get("name")
    return DeviceConfig(
        id=device_id,
        kind=cast("DeviceKind", kind),
        session=session,
        address=str(address).upper() if address else None,
        name=str(name) if name else None,
    )


def load(path: Path | None, env: Mapping[str, str] = os.environ) -> GatewaySettings:
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text()) if path else {}
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise GatewayConfigError(f"cannot read gateway config {path}: {err}") from err
    return from_mapping(raw, env)


def from_mapping(raw: Mapping[str, Any], env: Mapping[str, str] = os.environ) -> GatewaySettings:
    gateway = raw.get("gateway", {})
    gateway_id = env.get("VIGIL_GATEWAY_ID") or gateway.get("id")
    if not isinstance(gateway_id, str) or not valid_id(gateway_id):
        raise GatewayConfigError(f"gateway.id: a pseudonymous id is required, got {gateway_id!r}")
    mqtt_raw = raw.get("mqtt", {})
    mqtt = MqttSettings.from_url(
        env.get("VIGIL_MQTT_URL") or mqtt_raw.get("url", "mqtt://127.0.0.1")
    )
    if password := env.get("VIGIL_MQTT_PASSWORD"):
        mqtt = replace(mqtt, password=password)
    devices = tuple(_device(d, i) for i, d in enumerate(raw.get("devices", [])))
    if len({d.id for d in devices}) != len(devices):
        raise GatewayConfigError("devices: ids must be unique")
    ble = raw.get("ble", {})
    try:
        return GatewaySettings(
            id=gateway_id,
            mqtt=mqtt,
            devices=devices,
            outbox=Path(gateway.get("outbox", DEFAULT_OUTBOX)),
            outbox_max_readings=int(gateway.get("outbox_max_readings", 500_000)),
            lateness_s=float(gateway.get("lateness_s", 10.0)),
            max_per_batch=int(gateway.get("max_per_batch", 50)),
            scan_timeout_s=float(ble.get("scan_timeout_s", 10.0)),
        )
    except (TypeError, ValueError) as err:
        raise GatewayConfigError(f"gateway: {err}") from err
