"""Topic names of wire version 1. Only pseudonymous ids appear in topics (no names, no MACs)."""

from __future__ import annotations

import functools
import re
import zlib
from dataclasses import dataclass

# Fixed virtual shards, like a Kafka topic's partitions: a processor instance owns a set of
# shards and subscribes to exactly those, so each session's state lives on one instance and
# instances can be added without any gateway knowing how many there are.
SHARDS = 64

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def valid_id(value: str) -> bool:
    """Ids are pseudonyms: short, no MQTT wildcards or separators, nothing that reads as a name."""
    return bool(_ID.match(value))


@functools.lru_cache(maxsize=1 << 16)
def shard_of(session: str) -> int:
    # Cached: the processor asks for every message, and sessions are few.
    return zlib.crc32(session.encode()) % SHARDS


@dataclass(frozen=True, slots=True)
class Topics:
    root: str = "vigil"

    @property
    def base(self) -> str:
        return f"{self.root}/v1"

    def readings(self, session: str) -> str:
        return f"{self.base}/readings/{shard_of(session):02d}/{session}"

    def readings_filter(self, shard: int | None = None) -> str:
        return f"{self.base}/readings/{'+' if shard is None else f'{shard:02d}'}/+"

    def device_status(self, device: str) -> str:
        return f"{self.base}/status/device/{device}"

    def gateway_status(self, gateway: str) -> str:
        return f"{self.base}/status/gateway/{gateway}"

    def gateway_events(self, gateway: str) -> str:
        return f"{self.base}/events/gateway/{gateway}"

    def session(self, session: str) -> str:
        return f"{self.base}/sessions/{session}"

    def session_baseline(self, session: str) -> str:
        return f"{self.base}/sessions/{session}/baseline"

    def session_pending(self, session: str) -> str:
        return f"{self.base}/sessions/{session}/pending"

    def alarm_events(self, session: str) -> str:
        return f"{self.base}/alarms/{session}/events"

    def alarm_state(self, session: str, alarm_id: str) -> str:
        return f"{self.base}/alarms/{session}/state/{alarm_id}"

    def commands(self, session: str) -> str:
        return f"{self.base}/commands/{session}"

    def command_results(self, session: str) -> str:
        return f"{self.base}/commands/{session}/results"

    @property
    def dead_letter(self) -> str:
        return f"{self.base}/deadletter"
