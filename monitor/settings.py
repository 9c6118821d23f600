"""The processor's one settings object, built from environment and command line at start."""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from monitor.errors import SettingsError
from monitor.storage.influx import InfluxSettings
from vigil.errors import ConfigError
from vigil.mqtt_settings import MqttSettings
from vigil.wire import SHARDS

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
DEFAULT_SPILL_ROOT = Path("run/processor")
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_shards(spec: str) -> frozenset[int]:
    """`0-31`, `0,5,9-12` or `all` -> shard numbers, each in [0, SHARDS)."""
    if spec.strip() == "all":
        return frozenset(range(SHARDS))
    shards: set[int] = set()
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        match = _RANGE.match(part)
        if not match:
            raise SettingsError(f"shards must look like 0-31 or 0,5,9-12 or all, not {spec!r}")
        low = int(match.group(1))
        high = int(match.group(2) or low)
        if low > high or high >= SHARDS:
            raise SettingsError(f"shard range {part!r} is outside 0-{SHARDS - 1}")
        shards.update(range(low, high + 1))
    if not shards:
        raise SettingsError("an instance must own at least one shard")
    return frozenset(shards)


def instance_shards(instance: int, instances: int) -> frozenset[int]:
    """Instance i of n owns one contiguous block of shards: 0 of 2 owns 0-31, 1 of 2 owns 32-63."""
    if not 1 <= instances <= SHARDS or not 0 <= instance < instances:
        raise SettingsError(
            f"--instance must be in 0..instances-1 and instances in 1..{SHARDS}, "
            f"not {instance} of {instances}"
        )
    return frozenset(range(instance * SHARDS // instances, (instance + 1) * SHARDS // instances))


def shards_label(shards: frozenset[int]) -> str:
    """A stable, compact name for a shard set (`0-31`, `0-3+8`) used in client ids and paths."""
    ordered = sorted(shards)
    runs: list[str] = []
    start = prev = ordered[0]
    for shard in [*ordered[1:], None]:
        if shard is not None and shard == prev + 1:
            prev = shard
            continue
        runs.append(f"{start}-{prev}" if prev != start else f"{start}")
        if shard is not None:
            start = prev = shard
    return "+".join(runs)


class Role(enum.Enum):
    """What an instance does with the readings of its shards (docs/processor.md, Roles).

    `all` judges and stores them. `alarms` and `storage` split that work between two
    instances with their own MQTT sessions, each receiving every reading: the alarm path then
    never waits behind line protocol and journal writes, and storage may lag (InfluxDB slow,
    spill replay) without touching alarm latency.
    """

    ALL = "all"
    ALARMS = "alarms"
    STORAGE = "storage"

    @property
    def evaluates(self) -> bool:
        return self is not Role.STORAGE

    @property
    def stores_readings(self) -> bool:
        return self is not Role.ALARMS


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessorSettings:
    mqtt: MqttSettings
    influx: InfluxSettings
    shards: frozenset[int] = field(default_factory=lambda: frozenset(range(SHARDS)))
    role: Role = Role.ALL
    # Fixed per instance: the broker keeps this client's persistent session (and its queue).
    client_id: str = "vigil-processor"
    spill_dir: Path = DEFAULT_SPILL_ROOT / "vigil-processor"
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None  # None: no metrics endpoint; 0: any free port
    # MQTT 5 Receive Maximum: unacknowledged readings messages the broker may send us at once.
    max_in_flight: int = 1000
    # Acks wait while the spill holds more than this (the broker queues meanwhile).
    max_spill_bytes: int = 8 << 30
    # fsync the spill every this often; 0: before every acknowledgement (group commit).
    fsync_interval_s: float = 1.0
    write_batch_bytes: int = 512 << 10
    # A partial batch leaves once its oldest line is this old; a full one at once. InfluxDB
    # spends ~3 ms of CPU per write request and influxdb-client ~2 ms of our event loop
    # (measured, docs/benchmarks.md), so a quiet stream ships once a second (influxdb-client's
    # own default). Counted from the oldest line, the linger adds nothing to a backlog's
    # drain. Alarms never wait for it: they leave over MQTT.
    write_linger_s: float = 1.0
    write_timeout_s: float = 10.0
    lateness_s: float = 30.0
    dedup_window: int = 4096
    tick_s: float = 1.0
    restore_quiet_s: float = 0.5
    restore_max_s: float = 10.0
    # After a restart no metric is called stale sooner than this: what the gateways sent while
    # the processor was down is queued at the broker and arrives once it consumes again (at
    # ~10,000 messages/s, a minute's outage of 1,000 sessions within seconds).
    restart_stale_grace_s: float = 30.0
    connect_timeout_s: float = 10.0
    shutdown_timeout_s: float = 15.0

    def __post_init__(self) -> None:
        if not self.shards or not self.shards <= frozenset(range(SHARDS)):
            raise SettingsError(f"shards must be a non-empty subset of 0-{SHARDS - 1}")
        if not 1 <= self.max_in_flight <= 65535:
            raise SettingsError("max_in_flight must be in 1..65535 (MQTT Receive Maximum)")
        if self.lateness_s <= 0 or self.dedup_window < 1 or self.write_batch_bytes < 1024:
            raise SettingsError("lateness_s > 0, dedup_window >= 1, write_batch_bytes >= 1024")
        if not 0 <= self.write_linger_s <= 60:
            raise SettingsError("write_linger_s must be in 0..60 seconds")
        if not 0 <= self.restart_stale_grace_s <= 3600:
            raise SettingsError("restart_stale_grace_s must be in 0..3600 seconds")

    @classmethod
    def from_env(  # noqa: PLR0913 - each is one option of `vigil processor`
        cls,
        env: Mapping[str, str] | None = None,
        *,
        shards: frozenset[int] | None = None,
        role: Role | None = None,
        client_id: str | None = None,
        spill_root: Path | None = None,
        metrics_port: int | None = None,
        root: str | None = None,
        **overrides: float,
    ) -> ProcessorSettings:
        env = os.environ if env is None else env
        try:
            mqtt = MqttSettings.from_url(
                env.get("VIGIL_MQTT_URL", DEFAULT_MQTT_URL),
                root=root or env.get("VIGIL_MQTT_ROOT", "vigil"),
            )
        except ConfigError as err:
            raise SettingsError(str(err)) from err
        missing = [
            name
            for name in ("VIGIL_INFLUX_URL", "VIGIL_INFLUX_ORG", "VIGIL_INFLUX_BUCKET")
            if not env.get(name)
        ]
        if missing:
            raise SettingsError(
                f"set {', '.join(missing)} (`vigil services env` prints them for the harness)"
            )
        influx = InfluxSettings(
            url=env["VIGIL_INFLUX_URL"],
            org=env["VIGIL_INFLUX_ORG"],
            bucket=env["VIGIL_INFLUX_BUCKET"],
            token=env.get("VIGIL_INFLUX_TOKEN", ""),
        )
        if shards is None:
            shards = parse_shards(env.get("VIGIL_PROCESSOR_SHARDS", "all"))
        if role is None:
            try:
                role = Role(env.get("VIGIL_PROCESSOR_ROLE", "all"))
            except ValueError as err:
                raise SettingsError("VIGIL_PROCESSOR_ROLE must be all, alarms or storage") from err
        # Two roles on the same shards are two MQTT sessions: their ids must differ.
        role_label = "" if role is Role.ALL else f"{role.value}-"
        client_id = client_id or env.get(
            "VIGIL_PROCESSOR_ID", f"vigil-processor-{role_label}{shards_label(shards)}"
        )
        spill_root = spill_root or Path(env.get("VIGIL_SPILL_DIR", str(DEFAULT_SPILL_ROOT)))
        if metrics_port is None and env.get("VIGIL_METRICS_PORT"):
            try:
                metrics_port = int(env["VIGIL_METRICS_PORT"])
            except ValueError as err:
                raise SettingsError("VIGIL_METRICS_PORT must be a port number") from err
        return cls(
            mqtt=mqtt,
            influx=influx,
            shards=shards,
            role=role,
            client_id=client_id,
            spill_dir=spill_root / client_id,
            metrics_port=metrics_port,
            **overrides,  # type: ignore[arg-type]
        )
