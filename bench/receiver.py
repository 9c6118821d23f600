"""The alarm receiver: a separate process that timestamps every alarm when it arrives.

It subscribes (raw socket, TCP_NODELAY, QoS 1 for alarms) to the system's alarm topics, its
stats topic and the broker's dropped-messages counter, records (receipt time, topic,
payload) and, for the orchestrator's drain logic, publishes two live facts through shared
values: when the end marker's alarm arrived and the latest processed-readings count.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import time
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

from bench.mqtt_raw import Subscriber

DROPPED_TOPIC = "$SYS/broker/publish/messages/dropped"
MAX_LIFETIME_S = 900.0


def receiver_process(
    spec: dict[str, Any], ready: EventType, stop: EventType, shared: dict[str, Any]
) -> None:
    filters = [(spec["alarm_filter"], 1), (DROPPED_TOPIC, 0)]
    if spec.get("stats_filter"):
        filters.append((spec["stats_filter"], 0))
    end_topic: str = spec["end_topic"]
    sub = Subscriber(spec["host"], spec["port"], f"bench-rx-{spec['tag']}", filters)
    alarms: list[tuple[float, bytes]] = []
    stats: list[tuple[float, bytes]] = []
    dropped: list[tuple[float, int]] = []
    ready.set()
    deadline = time.monotonic() + MAX_LIFETIME_S
    while not stop.is_set() and time.monotonic() < deadline:
        for t, topic, payload in sub.poll(0.05):
            if topic == DROPPED_TOPIC:
                dropped.append((t, int(payload or b"0")))
            elif topic.startswith(spec.get("stats_prefix") or "\0"):
                stats.append((t, payload))
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    shared["processed"].value = float(json.loads(payload)["readings"])
            else:
                alarms.append((t, payload))
                if topic == end_topic and not shared["end_at"].value:
                    shared["end_at"].value = t
    sub.close()
    with Path(spec["out"]).open("wb") as f:
        pickle.dump({"alarms": alarms, "stats": stats, "dropped": dropped}, f)
