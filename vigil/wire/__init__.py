"""The MQTT wire contract, version 1 (`docs/mqtt.md`): topics and payload types.

Payloads are msgspec Structs: one definition gives the codec, the validation and the JSON
Schema published under `docs/schemas/`.
"""

from vigil.wire.payloads import (
    FLAGS,
    METRICS,
    AlarmEvent,
    AlarmState,
    Command,
    CommandResult,
    DeadLetter,
    DeviceKind,
    DeviceStatus,
    Flag,
    GatewayEvent,
    GatewayStatus,
    Metric,
    Reading,
    ReadingBatch,
    SessionBaseline,
    SessionDescriptor,
    SessionPending,
)
from vigil.wire.topics import SHARDS, Topics, shard_of, valid_id

__all__ = [
    "FLAGS",
    "METRICS",
    "SHARDS",
    "AlarmEvent",
    "AlarmState",
    "Command",
    "CommandResult",
    "DeadLetter",
    "DeviceKind",
    "DeviceStatus",
    "Flag",
    "GatewayEvent",
    "GatewayStatus",
    "Metric",
    "Reading",
    "ReadingBatch",
    "SessionBaseline",
    "SessionDescriptor",
    "SessionPending",
    "Topics",
    "shard_of",
    "valid_id",
]
