"""The processor's counters and gauges, rendered as Prometheus text. Pure: no I/O.

Counters are plain attributes incremented once per message or batch on the hot path; gauges
are read from their owners when scraped.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable

from monitor.validation import REASONS

WRITE_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PREFIX = "vigil_processor"


class Metrics:
    def __init__(self) -> None:
        self.messages_in = 0
        self.readings_in = 0
        self.readings_stored = 0
        self.duplicates = 0
        self.late = 0
        self.rejected: Counter[str] = Counter(dict.fromkeys(REASONS, 0))
        self.ignored_not_owned = 0
        self.alarm_events: Counter[str] = Counter()
        self.dead_letters = 0
        self.handler_errors = 0
        self.write_failures = 0
        self.points_written = 0
        self.points_rejected = 0
        self._write_buckets = [0] * (len(WRITE_BUCKETS_S) + 1)
        self._write_sum_s = 0.0
        self._write_count = 0
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}

    def observe_write(self, seconds: float, points: int) -> None:
        self._write_buckets[bisect.bisect_left(WRITE_BUCKETS_S, seconds)] += 1
        self._write_sum_s += seconds
        self._write_count += 1
        self.points_written += points

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self.gauges[name] = (help_text, read)

    def render(self) -> str:
        out: list[str] = []

        def counter(name: str, help_text: str, value: float, labels: str = "") -> None:
            full = f"{PREFIX}_{name}"
            if not out or not out[-1].startswith(full):
                out.extend((f"# HELP {full} {help_text}", f"# TYPE {full} counter"))
            out.append(f"{full}{labels} {value}")

        counter("messages_total", "readings messages received", self.messages_in)
        counter("readings_total", "readings received (in accepted batches)", self.readings_in)
        counter("readings_stored_total", "new readings appended for storage", self.readings_stored)
        counter(
            "duplicates_total", "redelivered readings recognised by (device, seq)", self.duplicates
        )
        counter("late_total", "historical or late readings: stored, not evaluated", self.late)
        for reason in sorted(self.rejected):
            counter(
                "rejected_total",
                "messages dead-lettered, by reason",
                self.rejected[reason],
                f'{{reason="{reason}"}}',
            )
        counter(
            "ignored_total", "messages of shards this instance does not own", self.ignored_not_owned
        )
        for kind in sorted(self.alarm_events) or ["raised"]:
            counter(
                "alarm_events_total",
                "alarm events published, by kind",
                self.alarm_events[kind],
                f'{{kind="{kind}"}}',
            )
        counter(
            "handler_errors_total",
            "messages left unacknowledged by an internal error",
            self.handler_errors,
        )
        counter("write_failures_total", "failed InfluxDB writes (retried)", self.write_failures)
        counter("points_written_total", "points written to InfluxDB", self.points_written)
        counter(
            "points_rejected_total",
            "points InfluxDB rejected for good (set aside)",
            self.points_rejected,
        )
        name = f"{PREFIX}_write_seconds"
        out.extend((f"# HELP {name} InfluxDB write latency", f"# TYPE {name} histogram"))
        cumulative = 0
        for bound, count in zip((*WRITE_BUCKETS_S, float("inf")), self._write_buckets, strict=True):
            cumulative += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            out.append(f'{name}_bucket{{le="{le}"}} {cumulative}')
        out.extend((f"{name}_sum {self._write_sum_s!r}", f"{name}_count {self._write_count}"))
        for gauge, (help_text, read) in sorted(self.gauges.items()):
            full = f"{PREFIX}_{gauge}"
            out.extend((f"# HELP {full} {help_text}", f"# TYPE {full} gauge", f"{full} {read()}"))
        return "\n".join(out) + "\n"
