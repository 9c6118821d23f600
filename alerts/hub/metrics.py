"""Prometheus text exposition of the hub's counters and latency histogram. Pure.

Only counts and durations: no session, patient or clinician ids in labels.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

# Seconds from the hub receiving an MQTT message to the frame being written to the client.
# The design target is p99 <= 10 ms for 100 clients.
LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
)  # fmt: skip


@dataclass(slots=True)
class Histogram:
    buckets: tuple[float, ...] = LATENCY_BUCKETS_S
    counts: list[int] = field(default_factory=list)
    total: int = 0
    sum_s: float = 0.0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        index = bisect.bisect_left(self.buckets, value)
        if index < len(self.counts):
            self.counts[index] += 1
        self.total += 1
        self.sum_s += value

    def lines(self, name: str) -> list[str]:
        out, cumulative = [], 0
        for bound, count in zip(self.buckets, self.counts, strict=True):
            cumulative += count
            out.append(f'{name}_bucket{{le="{bound:g}"}} {cumulative}')
        out += [
            f'{name}_bucket{{le="+Inf"}} {self.total}',
            f"{name}_sum {self.sum_s:.6f}",
            f"{name}_count {self.total}",
        ]
        return out


@dataclass(slots=True)
class HubMetrics:
    mqtt_messages: int = 0
    mqtt_rejected: int = 0
    events: int = 0
    vitals_sent: int = 0
    vitals_coalesced: int = 0
    commands: dict[str, int] = field(default_factory=dict)
    command_errors: dict[str, int] = field(default_factory=dict)
    command_results: dict[str, int] = field(default_factory=dict)  # accepted / rejected
    auth_failures: dict[str, int] = field(default_factory=dict)
    escalations: int = 0
    slow_disconnects: int = 0
    audit_failures: int = 0
    delivery_latency: Histogram = field(default_factory=Histogram)

    @staticmethod
    def bump(table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1


def _labelled(name: str, kind: str, help_text: str, label: str, table: dict[str, int]) -> list[str]:
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    out += [f'{name}{{{label}="{key}"}} {value}' for key, value in sorted(table.items())]
    return out


def render(
    metrics: HubMetrics,
    *,
    clients_by_role: dict[str, int],
    queue_depths: Iterable[int],
    mqtt_connected: bool,
    active_alarms: int,
) -> str:
    depths = list(queue_depths)
    simple = [
        ("vigil_hub_mqtt_connected", "gauge", "1 while the hub is connected to the broker",
         int(mqtt_connected)),
        ("vigil_hub_active_alarms", "gauge", "alarms currently active", active_alarms),
        ("vigil_hub_queue_depth_max", "gauge", "deepest client queue (frames)",
         max(depths, default=0)),
        ("vigil_hub_queue_depth_total", "gauge", "frames queued to all clients", sum(depths)),
        ("vigil_hub_mqtt_messages_total", "counter", "MQTT messages consumed",
         metrics.mqtt_messages),
        ("vigil_hub_mqtt_rejected_total", "counter", "MQTT messages that failed to decode",
         metrics.mqtt_rejected),
        ("vigil_hub_events_total", "counter", "live events fanned out", metrics.events),
        ("vigil_hub_vitals_sent_total", "counter", "vitals frames sent", metrics.vitals_sent),
        ("vigil_hub_vitals_coalesced_total", "counter",
         "vitals frames replaced by a newer one before sending", metrics.vitals_coalesced),
        ("vigil_hub_escalations_total", "counter", "alarm escalations", metrics.escalations),
        ("vigil_hub_slow_client_disconnects_total", "counter",
         "clients disconnected for not keeping up with alarms", metrics.slow_disconnects),
        ("vigil_hub_audit_write_failures_total", "counter", "failed audit-trail writes",
         metrics.audit_failures),
    ]  # fmt: skip
    out: list[str] = []
    for name, kind, help_text, value in simple:
        out += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {value}"]
    out += _labelled(
        "vigil_hub_connected_clinicians", "gauge", "authenticated websocket clients",
        "role", clients_by_role,
    )  # fmt: skip
    out += _labelled(
        "vigil_hub_commands_total", "counter", "commands accepted", "command", metrics.commands
    )
    out += _labelled(
        "vigil_hub_command_errors_total", "counter", "commands answered with an error", "code",
        metrics.command_errors,
    )  # fmt: skip
    out += _labelled(
        "vigil_hub_command_results_total", "counter", "the engine's answers to commands",
        "outcome", metrics.command_results,
    )  # fmt: skip
    out += _labelled(
        "vigil_hub_auth_failures_total", "counter", "refused logins and hellos", "reason",
        metrics.auth_failures,
    )  # fmt: skip
    name = "vigil_hub_delivery_latency_seconds"
    out += [
        f"# HELP {name} MQTT receipt to websocket write, per client and event",
        f"# TYPE {name} histogram",
    ]
    out += metrics.delivery_latency.lines(name)
    return "\n".join(out) + "\n"
