"""MQTT connection settings shared by every process that talks to the broker."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from vigil.errors import ConfigError

DEFAULT_PORT = 1883

# Nagle's algorithm adds 20-60 ms to QoS 1 round trips on loopback (docs: mqtt-clients.md).
NODELAY_SOCKET_OPTIONS: tuple[tuple[int, int, int], ...] = (
    (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),
)


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    root: str = "vigil"
    keepalive_s: int = 15

    @classmethod
    def from_url(cls, url: str, *, root: str = "vigil") -> MqttSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ConfigError(
                f"MQTT URL must look like mqtt://[user:pass@]host[:port], not {url!r}"
            )
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError as err:
            raise ConfigError(f"bad port in MQTT URL {url!r}") from err
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            root=root,
        )
