"""The load generator: one process offering a `Plan` to a broker in one wire format.

Every payload is built before the clock starts, so during the measured window the generator
only frames, writes and counts PUBACKs (a raw-socket QoS 1 publisher with a window of
in-flight messages, `bench.mqtt_raw`). Messages are spread evenly in time; the send time of
every message is recorded, and alarm latency is computed from it, keyed by (session, seq),
identically for every system under test. "Achieved" counts only acknowledged messages.

Run alone (e.g. against a broker you started):
    uv run python -m bench.loadgen --port 1883 --format peer --rate 20000 --batch 1
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event as EventType
from typing import Any

import numpy as np

from bench.mqtt_raw import WindowedPublisher, utf8
from bench.workload import PeerFormat, Periodic, Plan, VigilFormat, quantise, values

CHUNK = 200  # messages written per turn before PUBACKs are read again


def make_format(name: str, root: str | None = None) -> PeerFormat | VigilFormat:
    if name == "peer":
        return PeerFormat(root or "peer")
    if name == "vigil":
        return VigilFormat(root or "vigil")
    raise ValueError(f"unknown wire format {name!r}")


def build_messages(
    plan: Plan, fmt: PeerFormat | VigilFormat, t_base: float
) -> list[tuple[bytes, bytes]]:
    """Every message of the plan as (length-prefixed topic, payload), in send order."""
    v = values(plan).astype(np.int64).tolist()
    names = [plan.session_name(s) for s in range(plan.sessions)]
    topics = [utf8(fmt.topic(n)) for n in names]
    array = plan.batch > 1
    out = []
    for m in range(plan.messages):
        s, k0 = plan.message(m)
        row = v[s]
        readings = [
            (k, k % 4, row[k], plan.reading_time(t_base, s, k)) for k in range(k0, k0 + plan.batch)
        ]
        out.append((topics[s], fmt.payload(names[s], readings, array=array)))
    return out


def end_marker(
    plan: Plan, fmt: PeerFormat | VigilFormat, delay_s: float = 0.0
) -> list[tuple[bytes, bytes]]:
    """An hr crossing on its own session, two readings `delay_s` apart so it raises whatever
    the persistence delay: its alarm arrives after everything published before it."""
    name, t = plan.end_session, quantise(time.time())
    topic, array = utf8(fmt.topic(name)), plan.batch > 1
    return [
        (topic, fmt.payload(name, [(seq, 0, 132, t + dt)], array=array))
        for seq, dt in ((0, 0.0), (4, delay_s))
    ]


@dataclass(frozen=True, slots=True)
class GenResult:
    sent: int
    acked: int
    t_start: float
    t_last: float
    t_end_marker: float
    t_acked: float
    max_behind_s: float
    cpu_s: float
    send_times: np.ndarray[Any, Any]

    @property
    def achieved_rate_msgs(self) -> float:
        return self.sent / max(1e-9, self.t_acked - self.t_start)


def offer(
    host: str,
    port: int,
    messages: list[tuple[bytes, bytes]],
    message_rate: float,
    t_start: float,
    *,
    window: int = 1000,
    marker: list[tuple[bytes, bytes]] | None = None,
    client_id: str = "bench-gen",
    flush_timeout_s: float = 60.0,
) -> GenResult:
    """Publish `messages` evenly at `message_rate` from `t_start`, then the end marker."""
    pub = WindowedPublisher(host, port, client_id, window)
    n = len(messages)
    send_times = np.zeros(n)
    while time.time() < t_start:
        time.sleep(min(0.005, max(0.0, t_start - time.time())))
    cpu0 = os.times()
    m = 0
    max_behind = 0.0
    clock = time.time
    publish = pub.publish
    while m < n:
        now = clock()
        due = min(n, int((now - t_start) * message_rate) + 1)
        if m >= due:
            pub.pump(max(0.0, min(0.002, t_start + m / message_rate - now)))
            continue
        max_behind = max(max_behind, now - (t_start + m / message_rate))
        stop = min(due, m + CHUNK)
        while m < stop:
            topic, payload = messages[m]
            send_times[m] = clock()
            publish(topic, payload)
            m += 1
        pub.pump(0)
    t_last = clock()
    t_marker = t_last
    if marker is not None:
        t_marker = clock()
        for topic, payload in marker:
            publish(topic, payload)
    pub.flush(flush_timeout_s)
    t_acked = clock()
    cpu1 = os.times()
    pub.close()
    return GenResult(
        sent=n,
        acked=min(pub.acked, n),
        t_start=t_start,
        t_last=t_last,
        t_end_marker=t_marker,
        t_acked=t_acked,
        max_behind_s=max_behind,
        cpu_s=(cpu1.user + cpu1.system) - (cpu0.user + cpu0.system),
        send_times=send_times,
    )


def generator_process(
    spec: dict[str, Any], ready: EventType, start: Queue[float], results: Queue[GenResult]
) -> None:
    """Entry of the generator process (multiprocessing, spawn): build, signal, offer, report."""
    plan: Plan = spec["plan"]
    fmt = make_format(spec["format"], spec.get("root"))
    messages = build_messages(plan, fmt, spec["t_base"])
    ready.set()
    t_start = start.get(timeout=600)
    marker = end_marker(plan, fmt, spec.get("delay_s", 0.0))
    result = offer(
        spec["host"],
        spec["port"],
        messages,
        plan.message_rate,
        t_start,
        window=spec.get("window", 1000),
        marker=marker,
        client_id=f"bench-gen-{plan.prefix}",
    )
    results.put(result)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--format", choices=("peer", "vigil"), default="peer")
    ap.add_argument("--root", default=None)
    ap.add_argument("--sessions", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=10000, help="readings/s")
    ap.add_argument("--batch", type=int, default=1, help="readings per message")
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--window", type=int, default=1000)
    args = ap.parse_args()
    plan = Plan(
        args.sessions,
        args.rate,
        args.batch,
        args.duration,
        Periodic(100, 2),
        prefix=f"g{int(time.time()) % 100000}-",
    )
    fmt = make_format(args.format, args.root)
    t_base = quantise(time.time())
    messages = build_messages(plan, fmt, t_base)
    r = offer(
        args.host, args.port, messages, plan.message_rate, time.time() + 0.2, window=args.window
    )
    print(
        f"sent {r.sent} messages ({plan.readings} readings), acked {r.acked}, "
        f"{plan.readings / (r.t_acked - r.t_start):.0f} readings/s achieved, "
        f"max behind {r.max_behind_s:.3f} s, generator CPU {r.cpu_s:.2f} s"
    )


if __name__ == "__main__":
    main()
