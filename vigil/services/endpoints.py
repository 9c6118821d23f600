"""Where the running services can be reached, as written to and read from the run directory."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    host: str
    port: int
    pid: int

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class InfluxEndpoint:
    url: str
    org: str
    bucket: str
    token: str
    pid: int
    version: str


@dataclass(frozen=True, slots=True)
class Endpoints:
    run_dir: Path
    mqtt: MqttEndpoint | None = None
    influx: InfluxEndpoint | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "run_dir": str(self.run_dir),
                "mqtt": asdict(self.mqtt) if self.mqtt else None,
                "influx": asdict(self.influx) if self.influx else None,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Endpoints:
        raw = json.loads(text)
        return cls(
            run_dir=Path(raw["run_dir"]),
            mqtt=MqttEndpoint(**raw["mqtt"]) if raw.get("mqtt") else None,
            influx=InfluxEndpoint(**raw["influx"]) if raw.get("influx") else None,
        )

    def as_env(self) -> dict[str, str]:
        """Environment variables that the `vigil` processes read their service settings from."""
        env: dict[str, str] = {}
        if self.mqtt:
            env["VIGIL_MQTT_URL"] = self.mqtt.url
        if self.influx:
            env |= {
                "VIGIL_INFLUX_URL": self.influx.url,
                "VIGIL_INFLUX_ORG": self.influx.org,
                "VIGIL_INFLUX_BUCKET": self.influx.bucket,
                "VIGIL_INFLUX_TOKEN": self.influx.token,
            }
        return env
