"""Vigil's own Node-RED flow for the side-by-side benchmark, assembled from `bench/nodered/`.

mqtt in (`peer/+/vitals`, QoS 1, parsed JSON) -> "alarm rules" function (rules-init.js on
start, rules.js per message) -> mqtt out (QoS 1, `peer/<session>/alarms`); an inject every
second -> stats.js -> mqtt out (`peer/_stats/nodered`, QoS 0) with the processed count. The
broker port comes from env `BENCH_MQTT_PORT`, the persistence delay from env `DELAY_S`.

    uv run python -m bench.nodered_flow > flows.json     # to import it into an editor
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent / "nodered"
TAB = "vigil-bench-tab"
BROKER = "vigil-bench-broker"


def _function(node_id: str, name: str, *, func: str, init: str, wires: list[str], y: int) -> dict:  # type: ignore[type-arg]
    return {
        "id": node_id,
        "type": "function",
        "z": TAB,
        "name": name,
        "func": func,
        "initialize": init,
        "finalize": "",
        "outputs": 1,
        "timeout": 0,
        "noerr": 0,
        "libs": [],
        "x": 360,
        "y": y,
        "wires": [wires],
    }


def _mqtt_out(node_id: str, name: str, qos: str, y: int) -> dict:  # type: ignore[type-arg]
    return {
        "id": node_id,
        "type": "mqtt out",
        "z": TAB,
        "name": name,
        "topic": "",
        "qos": qos,
        "retain": "false",
        "broker": BROKER,
        "x": 600,
        "y": y,
        "wires": [],
    }


def flow() -> list[dict]:  # type: ignore[type-arg]
    read = lambda name: (HERE / name).read_text()  # noqa: E731
    return [
        {"id": TAB, "type": "tab", "label": "Vigil bench: vital-sign alarms", "disabled": False},
        {
            "id": BROKER,
            "type": "mqtt-broker",
            "name": "bench broker",
            "broker": "127.0.0.1",
            "port": "${BENCH_MQTT_PORT}",
            "clientid": "vigil-bench-nodered",
            "autoConnect": True,
            "usetls": False,
            "protocolVersion": "4",
            "keepalive": "60",
            "cleansession": True,
            "autoUnsubscribe": True,
        },
        {
            "id": "vitals-in",
            "type": "mqtt in",
            "z": TAB,
            "name": "vitals",
            "topic": "peer/+/vitals",
            "qos": "1",
            "datatype": "json",
            "broker": BROKER,
            "nl": False,
            "rap": True,
            "rh": 0,
            "inputs": 0,
            "x": 120,
            "y": 100,
            "wires": [["alarm-rules"]],
        },
        _function(
            "alarm-rules",
            "alarm rules",
            func=read("rules.js"),
            init=read("rules-init.js"),
            wires=["alarms-out"],
            y=100,
        ),
        _mqtt_out("alarms-out", "alarms", "1", 100),
        {
            "id": "tick",
            "type": "inject",
            "z": TAB,
            "name": "every second",
            "props": [],
            "repeat": "1",
            "crontab": "",
            "once": True,
            "onceDelay": "0.2",
            "topic": "",
            "x": 120,
            "y": 200,
            "wires": [["stats"]],
        },
        _function("stats", "stats", func=read("stats.js"), init="", wires=["stats-out"], y=200),
        _mqtt_out("stats-out", "stats", "0", 200),
    ]


if __name__ == "__main__":
    print(json.dumps(flow(), indent=2))
