"""Baselines for the side-by-side bench: what plain Python on a raw socket does on this box.

`forwarder`: subscribes to `peer/+/vitals` (QoS 1, acknowledges on arrival like Node-RED),
decodes with msgspec, applies the same rules as `bench.workload` (per-session, per-rule
state) and publishes alarms to `peer/<session>/alarms` at QoS 1; every second it publishes
{"readings": n} to `peer/_stats/forwarder`. The floor cost of doing the job in Python.

`sink`: subscribes and acknowledges, counts readings (one per message, or the array
length) and does nothing else: the ceiling of generator + broker + one Python consumer.

    uv run python -m bench.forwarder --port 1883 [--mode sink] [--delay 0]
"""

from __future__ import annotations

import argparse
import json
import signal
import time

import msgspec

from bench.mqtt_raw import Subscriber, WindowedPublisher, utf8
from bench.workload import RULES_BY_METRIC

MAX_LIFETIME_S = 3600.0


class Rules:
    """Per-session, per-rule [active, since]; returns the alarm payloads a reading causes."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.state: dict[tuple[str, str], list[object]] = {}

    def feed(self, r: dict) -> list[tuple[str, bytes]]:  # type: ignore[type-arg]
        out = []
        v, t, session = r["value"], r["t"], r["session"]
        for rule in RULES_BY_METRIC.get(r["metric"], ()):
            st = self.state.get((session, rule.rule_id))
            if st is None:
                st = self.state[session, rule.rule_id] = [False, None]
            if st[0]:
                if rule.back_inside(v):
                    st[0], st[1] = False, None
                    out.append(self._event(session, rule.rule_id, "cleared", r))
            elif not rule.violates(v):
                st[1] = None
            else:
                if st[1] is None:
                    st[1] = t
                if t - st[1] >= self.delay_s:  # type: ignore[operator]
                    st[0] = True
                    out.append(self._event(session, rule.rule_id, "raised", r))
        return out

    @staticmethod
    def _event(session: str, rule: str, state: str, r: dict) -> tuple[str, bytes]:  # type: ignore[type-arg]
        body = {"session": session, "rule": rule, "state": state, "seq": r["seq"], "t": r["t"]}
        return f"peer/{session}/alarms", json.dumps(body).encode()


def serve(host: str, port: int, mode: str, delay_s: float) -> None:
    stop = [False]

    def on_term(*_: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, on_term)
    sub = Subscriber(host, port, f"bench-{mode}", [("peer/+/vitals", 1)])
    pub = WindowedPublisher(host, port, f"bench-{mode}-out", window=1000)
    rules = Rules(delay_s)
    decode = msgspec.json.decode
    readings = 0
    next_stats = time.monotonic()
    stats_topic = utf8(f"peer/_stats/{mode}")
    deadline = time.monotonic() + MAX_LIFETIME_S
    while not stop[0] and time.monotonic() < deadline:
        for _, _, payload in sub.poll(0.02):
            if mode == "sink":
                readings += payload.count(b'"seq"')
                continue
            doc = decode(payload)
            batch = doc if isinstance(doc, list) else (doc,)
            readings += len(batch)
            for r in batch:
                for topic, body in rules.feed(r):
                    pub.publish(utf8(topic), body)
        pub.pump(0)
        if time.monotonic() >= next_stats:
            next_stats += 1.0
            pub.publish(stats_topic, json.dumps({"readings": readings}).encode())
    pub.flush(5.0)
    pub.close()
    sub.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mode", choices=("forwarder", "sink"), default="forwarder")
    ap.add_argument("--delay", type=float, default=0.0, help="persistence delay, s of reading time")
    args = ap.parse_args()
    serve(args.host, args.port, args.mode, args.delay)


if __name__ == "__main__":
    main()
