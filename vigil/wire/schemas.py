"""JSON Schemas of the wire payloads, generated from the payload types themselves."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from vigil.wire import payloads

PAYLOAD_TYPES: dict[str, type[msgspec.Struct]] = {
    "reading-batch": payloads.ReadingBatch,
    "device-status": payloads.DeviceStatus,
    "gateway-status": payloads.GatewayStatus,
    "gateway-event": payloads.GatewayEvent,
    "session": payloads.SessionDescriptor,
    "session-baseline": payloads.SessionBaseline,
    "session-pending": payloads.SessionPending,
    "alarm-event": payloads.AlarmEvent,
    "alarm-state": payloads.AlarmState,
    "command": payloads.Command,
    "command-result": payloads.CommandResult,
    "dead-letter": payloads.DeadLetter,
}

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def schema_text(name: str) -> str:
    schema = msgspec.json.schema(PAYLOAD_TYPES[name])
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"vigil/v1/{name}.schema.json",
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_all(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in PAYLOAD_TYPES:
        path = directory / f"{name}.schema.json"
        path.write_text(schema_text(name))
        written.append(path)
    return written


def stale(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names whose committed schema differs from what the types generate."""
    out = []
    for name in PAYLOAD_TYPES:
        path = directory / f"{name}.schema.json"
        if not path.exists() or path.read_text() != schema_text(name):
            out.append(name)
    return out
