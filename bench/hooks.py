"""Benchmarks whose subject is not finished yet: documented stubs that answer "not yet".

`hub` is measured by `bench/hub.py` when `vigil hub` exists; `hub_fanout` below is its
fallback. `end_to_end` runs `bench/e2e.py` when every part it drives exists (`vigil gateway`,
`vigil processor`, `vigil hub`, `devices.emulation`), else it answers "not yet".

Each returns a result with `status: "not yet"`, the target, and what the finished benchmark
must measure, so `scripts/bench hub e2e` runs today and the summary shows the gap. The
author of the missing part replaces the body of the function (and keeps its name).

hub — alarm fan-out to 100 clinicians (target p99 <= 10 ms):
  start `vigil hub` (alerts/hub) against the bench broker; connect 100 websocket clients,
  each authorised for the same 50 sessions; publish `AlarmEvent`s on
  `vigil/v1/alarms/{session}/events` at 35/s for 30 s from the raw publisher with the send
  time recorded by event id; every client timestamps each delivery; latency = receipt -
  send, p50/p99 over all (client, event) pairs; missing / duplicate deliveries counted.
  Baseline, same run: a raw websockets broadcast server doing the same fan-out.

e2e — BLE notification -> dashboard websocket at 100 sessions (target p99 <= 25 ms):
  100 emulated wearables (devices/emulation, over the real bleak API, docs/emulation.md)
  each notifying 1/s through `vigil gateway` -> Mosquitto -> `vigil processor` -> `vigil hub`
  -> a websocket client per clinician; a scripted crossing every 8 s per session; latency =
  websocket receipt - the emulated peripheral's notify time, matched by (device, seq).
  Baseline, same run: notification -> the reading's arrival at a raw MQTT subscriber.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

NOT_YET = "not yet"


def hub_fanout() -> dict[str, Any]:
    return {
        "status": NOT_YET,
        "what": "alarm fan-out to 100 clinicians: AlarmEvent publish -> websocket receipt",
        "target": {"p99_ms": 10.0},
        "needs": "alerts/hub finished: `vigil hub` with a documented client protocol",
    }


E2E_PARTS = ("devices.emulation", "devices.gateway", "monitor.command", "alerts.hub")


def end_to_end(run_dir: Path, *, repeats: int = 1) -> dict[str, Any]:
    """`bench.e2e.run` when its parts exist, else what is missing."""
    from vigil.cli import SUBCOMMANDS  # noqa: PLC0415

    commands = ("emulate", "gateway", "processor", "hub")
    present = all(importlib.util.find_spec(m) is not None for m in E2E_PARTS)
    if present and all(c in SUBCOMMANDS for c in commands):
        from bench import e2e  # noqa: PLC0415

        return e2e.run(run_dir, repeats=repeats)
    return {
        "status": NOT_YET,
        "what": "BLE notification -> dashboard websocket at 100 sessions",
        "target": {"p99_ms": 25.0},
        "needs": "devices/emulation + vigil gateway + vigil processor + vigil hub wired together",
    }
