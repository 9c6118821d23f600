"""The hub's settings: one typed, frozen object built at start from environment and CLI.

| variable | meaning |
|---|---|
| `VIGIL_MQTT_URL` | broker, `mqtt://[user:pass@]host[:port]` (default `mqtt://127.0.0.1:1883`) |
| `VIGIL_INFLUX_URL`, `_ORG`, `_BUCKET`, `_TOKEN` | InfluxDB 2.x for the audit trail |
| `VIGIL_HUB_USERS` | accounts file (default `hub-users.toml`) |
| `VIGIL_HUB_TOKEN_SECRET` | HMAC secret for session tokens, >= 32 bytes |
| `VIGIL_HUB_HOST`, `VIGIL_HUB_PORT` | where to listen (default 127.0.0.1:8765) |
| `VIGIL_HUB_ALLOWED_ORIGINS` | comma-separated extra origins allowed to open the socket |
| `VIGIL_HUB_TLS_CERT`, `VIGIL_HUB_TLS_KEY` | PEM files; TLS is on when both are set |
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from alerts.hub.core import CoreSettings
from alerts.hub.errors import HubError
from alerts.hub.policy import DEFAULT_ESCALATION_S
from monitor.storage.influx import InfluxSettings
from vigil.errors import ConfigError
from vigil.mqtt_settings import MqttSettings

WEB_ROOT = Path(__file__).resolve().parents[2] / "dashboards" / "web"
DEFAULT_PORT = 8765


@dataclass(frozen=True, slots=True, kw_only=True)
class HubSettings:
    mqtt: MqttSettings
    influx: InfluxSettings | None  # None: audit trail off (only with --no-audit)
    users_file: Path
    token_secret: bytes = field(repr=False)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    token_ttl_s: float = 12 * 3600.0  # one clinical shift
    tls_cert: Path | None = None
    tls_key: Path | None = None
    allowed_origins: tuple[str, ...] = ()  # besides the hub's own (same-origin dashboard)
    escalation_s: Mapping[str, float] = field(default_factory=lambda: DEFAULT_ESCALATION_S)
    core: CoreSettings = field(default_factory=CoreSettings)
    auth_timeout_s: float = 10.0
    tick_s: float = 0.2  # how often timers (escalation, token expiry, vitals flush) are checked
    command_timeout_s: float = 5.0  # for the broker to acknowledge a forwarded command
    close_timeout_s: float = 2.0
    client_id: str = "vigil-hub"
    web_root: Path = WEB_ROOT
    max_message_bytes: int = 64 * 1024
    # Kernel send buffer per client socket (None: the OS default, up to megabytes with
    # autotuning). Smaller bounds the memory a stalled client holds and detects it sooner.
    send_buffer_bytes: int | None = None

    def __post_init__(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("TLS needs both a certificate and a key (VIGIL_HUB_TLS_CERT/_KEY)")
        if not 0 <= self.port <= 65535:  # the TCP port range
            raise ConfigError(f"port {self.port} is out of range")

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.tls_cert is None or self.tls_key is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        except (OSError, ssl.SSLError) as err:
            raise HubError(f"cannot load TLS certificate {self.tls_cert}: {err}") from err
        return context


def influx_from_env(env: Mapping[str, str]) -> InfluxSettings | None:
    keys = ("VIGIL_INFLUX_URL", "VIGIL_INFLUX_ORG", "VIGIL_INFLUX_BUCKET", "VIGIL_INFLUX_TOKEN")
    present = [key for key in keys if env.get(key)]
    if not present:
        return None
    if len(present) != len(keys):
        missing = ", ".join(key for key in keys if key not in present)
        raise ConfigError(f"InfluxDB settings incomplete: {missing} not set")
    return InfluxSettings(
        url=env[keys[0]], org=env[keys[1]], bucket=env[keys[2]], token=env[keys[3]]
    )


def origins_from_text(text: str) -> tuple[str, ...]:
    origins = tuple(part.strip().rstrip("/") for part in text.split(",") if part.strip())
    for origin in origins:
        if not origin.startswith(("http://", "https://")):
            raise ConfigError(f"allowed origin {origin!r} must start with http:// or https://")
    return origins
