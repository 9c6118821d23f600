"""The logical workload both systems get, the alarm rules it is judged by, and the wire formats.

Pure: no sockets, no processes. A `Plan` fixes sessions, rate, readings per message and
duration; `values(plan)` gives every reading's value; `expected_events(plan, delay_s)` is the
reference model of the rules (the same semantics as `alerts/profiles/peer-compat.toml`);
`PeerFormat` and `VigilFormat` turn the same message into each system's payload.

Rules (rule id, metric, above/below, limit, reset 5 units inside, priority) — thresholds as
data, the Node-RED-compatible rule set:
  hr_high hr>120 high | hr_low hr<45 high | spo2_low spo2<90 high |
  sbp_high sbp>180 high | dbp_high dbp>110 high | sbp_elev sbp>160 medium.
A rule raises on the first violating reading with t - t_first_violating >= delay_s (reading
time, inclusive); any non-violating reading before that resets the pending condition; an
active rule clears at the first reading 5 units inside the limit; each rule has its own state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

METRICS = ("hr", "spo2", "sbp", "dbp")
HYSTERESIS = 5.0


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: str
    metric: str
    above: bool
    limit: float
    priority: str

    def violates(self, value: float) -> bool:
        return value > self.limit if self.above else value < self.limit

    def back_inside(self, value: float) -> bool:
        reset = self.limit - HYSTERESIS if self.above else self.limit + HYSTERESIS
        return value <= reset if self.above else value >= reset


RULES = (
    Rule("hr_high", "hr", above=True, limit=120, priority="high"),
    Rule("hr_low", "hr", above=False, limit=45, priority="high"),
    Rule("spo2_low", "spo2", above=False, limit=90, priority="high"),
    Rule("sbp_high", "sbp", above=True, limit=180, priority="high"),
    Rule("dbp_high", "dbp", above=True, limit=110, priority="high"),
    Rule("sbp_elev", "sbp", above=True, limit=160, priority="medium"),
)
RULES_BY_METRIC = {m: tuple(r for r in RULES if r.metric == m) for m in METRICS}

# Event key used everywhere: (session index, rule id, "raised" | "cleared", seq).
EventKey = tuple[int, str, str, int]


def quantise(t: float) -> float:
    """Round to 1/1024 s: exact in binary, so every consumer computes identical differences."""
    return round(t * 1024) / 1024


# --------------------------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Periodic:
    """Each metric of each session is abnormal for `abnormal` of every `period` samples,
    phase-shifted per session; hr alternates 132/41 episodes, sbp 188 (both sbp rules) / 168
    (medium only), spo2 86, dbp 114. Normal values are inside every reset band."""

    period: int
    abnormal: int

    def matrix(self, sessions: int, per_session: int) -> npt.NDArray[np.float64]:
        s = np.arange(sessions)[:, None]
        k = np.arange(per_session)[None, :]
        metric, j = k % 4, k // 4
        normal = np.select(
            [metric == 0, metric == 1, metric == 2],
            [72 + (s * 11 + j * 5) % 23, 96 + (s + 3 * j) % 4, 118 + (s * 7 + j * 3) % 22],
            68 + (s * 3 + j * 7) % 21,
        )
        x = j + (s * 37) % self.period
        even = (x // self.period) % 2 == 0
        bad = np.select(
            [metric == 0, metric == 1, metric == 2],
            [np.where(even, 132, 41), 86, np.where(even, 188, 168)],
            114,
        )
        return np.where(x % self.period < self.abnormal, bad, normal).astype(np.float64)


# Scripted sessions for the correctness check (delay_s = 10, each metric sampled at 1 Hz).
# name: (metric, [(value, samples), ...] from metric sample j = SCRIPT_START, expected
# [(rule, state, j)]) — expectations written by hand; a unit test checks the model agrees.
SCRIPT_START = 4
SCRIPTS: dict[str, tuple[str, list[tuple[float, int]], list[tuple[str, str, int]]]] = {
    "brief_8": ("hr", [(130, 8)], []),
    "sustained_12": ("hr", [(130, 12)], [("hr_high", "raised", 14), ("hr_high", "cleared", 16)]),
    "inclusive_11": ("hr", [(121, 11)], [("hr_high", "raised", 14), ("hr_high", "cleared", 15)]),
    "at_limit": ("hr", [(120, 14), (45, 14)], []),
    "hysteresis": (
        "hr",
        [(130, 12), (118, 4), (125, 2), (116, 2), (115, 1)],
        [("hr_high", "raised", 14), ("hr_high", "cleared", 24)],
    ),
    "flapping": ("hr", [(130, 7), (80, 1), (130, 7), (80, 1), (130, 7)], []),
    "reset_then_long": (
        "hr",
        [(130, 9), (80, 1), (130, 11)],
        [("hr_high", "raised", 24), ("hr_high", "cleared", 25)],
    ),
    "hr_low": (
        "hr",
        [(42, 11), (48, 2), (50, 1)],
        [("hr_low", "raised", 14), ("hr_low", "cleared", 17)],
    ),
    "spo2_low": (
        "spo2",
        [(86, 12), (93, 3), (95, 1)],
        [("spo2_low", "raised", 14), ("spo2_low", "cleared", 19)],
    ),
    "sbp_both": (
        "sbp",
        [(185, 11), (178, 2), (175, 1), (158, 2), (155, 1)],
        [
            ("sbp_high", "raised", 14),
            ("sbp_elev", "raised", 14),
            ("sbp_high", "cleared", 17),
            ("sbp_elev", "cleared", 20),
        ],
    ),
    "sbp_elev": (
        "sbp",
        [(165, 11), (157, 2), (155, 1)],
        [("sbp_elev", "raised", 14), ("sbp_elev", "cleared", 17)],
    ),
    "dbp_high": (
        "dbp",
        [(112, 11), (106, 2), (105, 1)],
        [("dbp_high", "raised", 14), ("dbp_high", "cleared", 17)],
    ),
    "normal": ("hr", [], []),
}
SCRIPT_NAMES = tuple(SCRIPTS)


@dataclass(frozen=True, slots=True)
class Scripted:
    def matrix(self, sessions: int, per_session: int) -> npt.NDArray[np.float64]:
        out = Periodic(10**9, 0).matrix(sessions, per_session)  # all normal
        for s in range(sessions):
            metric, segments, _ = SCRIPTS[SCRIPT_NAMES[s % len(SCRIPT_NAMES)]]
            mi = METRICS.index(metric)
            j = SCRIPT_START
            for value, count in segments:
                for _ in range(count):
                    if 4 * j + mi < per_session:
                        out[s, 4 * j + mi] = value
                    j += 1
        return out


def scripted_expectations(sessions: int) -> set[EventKey]:
    out: set[EventKey] = set()
    for s in range(sessions):
        _, _, expected = SCRIPTS[SCRIPT_NAMES[s % len(SCRIPT_NAMES)]]
        for rule_id, state, j in expected:
            metric = next(r.metric for r in RULES if r.rule_id == rule_id)
            out.add((s, rule_id, state, 4 * j + METRICS.index(metric)))
    return out


# --------------------------------------------------------------------------------------------
# the plan: who sends what when
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Plan:
    """`sessions` sessions share `rate` readings/s, `batch` readings of one session per
    message, messages evenly spaced; each session cycles hr, spo2, sbp, dbp."""

    sessions: int
    rate: float
    batch: int
    duration_s: float
    workload: Periodic | Scripted = field(default_factory=lambda: Periodic(100, 2))
    prefix: str = "b"

    @property
    def per_session_rate(self) -> float:
        return self.rate / self.sessions

    @property
    def per_session(self) -> int:
        n = round(self.per_session_rate * self.duration_s / self.batch) * self.batch
        return max(self.batch, n)

    @property
    def messages(self) -> int:
        return self.sessions * self.per_session // self.batch

    @property
    def readings(self) -> int:
        return self.messages * self.batch

    @property
    def message_rate(self) -> float:
        return self.rate / self.batch

    def session_name(self, s: int) -> str:
        return f"{self.prefix}s{s:05d}"

    @property
    def end_session(self) -> str:
        return f"{self.prefix}end"

    def message(self, m: int) -> tuple[int, int]:
        """Message m carries readings [k0, k0 + batch) of session s: returns (s, k0)."""
        return m % self.sessions, (m // self.sessions) * self.batch

    def message_index(self, s: int, k: int) -> int:
        return (k // self.batch) * self.sessions + s

    def reading_time(self, t0: float, s: int, k: int) -> float:
        """Reading k of session s was taken when it was due; a message leaves at its last
        reading's time."""
        r = self.per_session_rate
        return quantise(t0 + s * self.batch / self.rate + (k - self.batch + 1) / r)


def values(plan: Plan) -> npt.NDArray[np.float64]:
    return plan.workload.matrix(plan.sessions, plan.per_session)


def expected_events(
    plan: Plan, delay_s: float, t0: float, matrix: npt.NDArray[np.float64] | None = None
) -> set[EventKey]:
    """The reference model over the whole plan. Rows that are quiet (inside every reset band
    and violating nothing) right after a quiet row of the same stream change nothing, so
    only the others are walked."""
    v = values(plan) if matrix is None else matrix
    k = np.arange(v.shape[1])[None, :]
    metric = np.broadcast_to(k % 4, v.shape)
    quiet = np.ones(v.shape, dtype=bool)
    for rule in RULES:
        on = metric == METRICS.index(rule.metric)
        inside = v <= rule.limit - HYSTERESIS if rule.above else v >= rule.limit + HYSTERESIS
        quiet &= ~on | inside
    prev_quiet = np.ones(v.shape, dtype=bool)
    prev_quiet[:, 4:] = quiet[:, :-4]
    walk = ~(quiet & prev_quiet)
    state: dict[tuple[int, str], list[object]] = {}
    out: set[EventKey] = set()
    for s, kk in zip(*np.nonzero(walk), strict=True):
        s_i, k_i = int(s), int(kk)
        value = float(v[s_i, k_i])
        t = plan.reading_time(t0, s_i, k_i)
        for rule in RULES_BY_METRIC[METRICS[k_i % 4]]:
            st = state.setdefault((s_i, rule.rule_id), [False, None])
            if not st[0]:
                if not rule.violates(value):
                    st[1] = None
                    continue
                if st[1] is None:
                    st[1] = t
                if t - st[1] >= delay_s:  # type: ignore[operator]
                    st[0] = True
                    out.add((s_i, rule.rule_id, "raised", k_i))
            elif rule.back_inside(value):
                st[0], st[1] = False, None
                out.add((s_i, rule.rule_id, "cleared", k_i))
    return out


# --------------------------------------------------------------------------------------------
# wire formats
# --------------------------------------------------------------------------------------------
class PeerFormat:
    """The Node-RED-style contract: `<root>/<session>/vitals`, one JSON reading
    {session, metric, value, t, seq} or a JSON array of them; alarms on
    `<root>/<session>/alarms` as {session, rule, state: raised|cleared, seq, ...}."""

    name = "peer-json"

    def __init__(self, root: str = "peer") -> None:
        self.root = root

    def topic(self, session: str) -> str:
        return f"{self.root}/{session}/vitals"

    @property
    def alarm_filter(self) -> str:
        return f"{self.root}/+/alarms"

    @property
    def stats_filter(self) -> str:
        return f"{self.root}/_stats/#"

    def payload(
        self, session: str, readings: list[tuple[int, int, float, float]], *, array: bool
    ) -> bytes:
        """`readings` as (seq, metric index, value, t)."""
        parts = [
            '{"session":"%s","metric":"%s","value":%d,"t":%r,"seq":%d}'  # noqa: UP031 - hot loop
            % (session, METRICS[mi], v, t, k)
            for k, mi, v, t in readings
        ]
        text = "[" + ",".join(parts) + "]" if array else parts[0]
        return text.encode()

    @staticmethod
    def alarm_key(payload: bytes) -> tuple[str, str, str, int]:
        import json  # noqa: PLC0415 - analysis only

        e = json.loads(payload)
        return e["session"], e["rule"], e["state"], int(e["seq"])


class VigilFormat:
    """Vigil's wire contract v1 (docs/mqtt.md): a `ReadingBatch` per message on
    `<root>/v1/readings/{shard}/{session}`, one device per session with its own seq;
    alarms are `AlarmEvent`s on `<root>/v1/alarms/{session}/events` (kind raised/resolved)."""

    name = "vigil-wire-v1"
    GATEWAY = "gw-bench"
    KIND = "hr_strap"

    def __init__(self, root: str = "vigil") -> None:
        from vigil.wire import Topics  # noqa: PLC0415 - the peer-only paths need no vigil

        self.root = root
        self.topics = Topics(root)

    def topic(self, session: str) -> str:
        return self.topics.readings(session)

    @property
    def alarm_filter(self) -> str:
        return f"{self.root}/v1/alarms/+/events"

    @staticmethod
    def device(session: str) -> str:
        return f"{session}-d"

    def payload(
        self, session: str, readings: list[tuple[int, int, float, float]], *, array: bool
    ) -> bytes:
        del array  # a ReadingBatch always carries a list
        parts = [
            '{"seq":%d,"t":%r,"values":{"%s":%d.0}}' % (k, t, METRICS[mi], v)  # noqa: UP031
            for k, mi, v, t in readings
        ]
        return (
            '{"v":1,"gateway":"%s","session":"%s","device":"%s","kind":"%s","readings":[%s]}'  # noqa: UP031
            % (self.GATEWAY, session, self.device(session), self.KIND, ",".join(parts))
        ).encode()

    @staticmethod
    def alarm_key(payload: bytes) -> tuple[str, str, str, int] | None:
        import json  # noqa: PLC0415

        e = json.loads(payload)
        state = {"raised": "raised", "resolved": "cleared"}.get(e.get("kind"))
        if state is None or e.get("seq") is None:
            return None
        return e["session"], e["rule"], state, int(e["seq"])
