"""The Node-RED peer's 11 correctness scenarios (shared/peers/nodered/README.md, "(c)"),
with its hand-written expectations, on the scalar path and the batch path.

As in the peer's bench: delay 10 s, each session cycles hr, spo2, sbp, dbp, so each metric
is sampled at 1 Hz; a scenario's values start at per-metric index j = 5; everything else is
normal. Expectations are (rule, state, j) with the peer's "raised"/"cleared" states, which
the engine's peer-compatible profile emits as `raised`/`resolved`.
"""

import pytest
from alerts_testkit import T0, peer_profile, reading, run_batched, run_scalar

from alerts.engine import AlarmEngine, AlarmEvent, EventKind

METRICS = ("hr", "spo2", "sbp", "dbp")
START_J = 5
SAMPLES = 40
NORMAL = {"hr": 80, "spo2": 97, "sbp": 125, "dbp": 80}

# name: (metric, [(value, samples), ...], expected [(rule, state, j)]) -- from the peer's bench.
SCENARIOS = {
    "short_8s": ("hr", [(130, 8)], []),
    "long_12s": ("hr", [(130, 12)], [("hr_high", "raised", 15), ("hr_high", "cleared", 17)]),
    "hysteresis": (
        "hr",
        [(130, 12), (117, 5), (130, 3), (116, 3), (115, 1)],
        [("hr_high", "raised", 15), ("hr_high", "cleared", 28)],
    ),
    "flapping": ("hr", [(130, 6), (80, 1), (130, 6), (80, 1), (130, 6)], []),
    "reset_then_long": (
        "hr",
        [(130, 8), (80, 1), (130, 12)],
        [("hr_high", "raised", 24), ("hr_high", "cleared", 26)],
    ),
    "hr_low": (
        "hr",
        [(40, 12), (48, 3), (50, 1)],
        [("hr_low", "raised", 15), ("hr_low", "cleared", 20)],
    ),
    "spo2_low": (
        "spo2",
        [(85, 12), (92, 5), (94, 2), (95, 1)],
        [("spo2_low", "raised", 15), ("spo2_low", "cleared", 24)],
    ),
    "sbp_medium": (
        "sbp",
        [(170, 12), (158, 3), (155, 1)],
        [("sbp_elev", "raised", 15), ("sbp_elev", "cleared", 20)],
    ),
    "sbp_high": (
        "sbp",
        [(190, 12), (178, 3), (175, 1), (160, 2), (150, 1)],
        [
            ("sbp_high", "raised", 15),
            ("sbp_elev", "raised", 15),
            ("sbp_high", "cleared", 20),
            ("sbp_elev", "cleared", 23),
        ],
    ),
    "dbp_high": (
        "dbp",
        [(115, 12), (107, 2), (105, 1)],
        [("dbp_high", "raised", 15), ("dbp_high", "cleared", 19)],
    ),
    "normal": ("hr", [], []),
}

PEER_STATE = {EventKind.RAISED: "raised", EventKind.RESOLVED: "cleared"}


def scenario_readings(name: str):
    metric, segments, _ = SCENARIOS[name]
    scripted = {}
    j = START_J
    for value, count in segments:
        for _ in range(count):
            scripted[j] = value
            j += 1
    readings = []
    for j in range(SAMPLES):
        for mi, m in enumerate(METRICS):
            value = scripted.get(j, NORMAL[m]) if m == metric else NORMAL[m]
            k = 4 * j + mi
            readings.append(reading(T0 + j + mi / 4, {m: value}, session=name, seq=k))
    return readings


def as_peer(events: list[AlarmEvent]) -> list[tuple[str, str, int]]:
    """(rule, state, j) from the engine's events, as the peer's bench identifies them."""
    out = []
    for event in events:
        assert event.reading is not None
        out.append((event.rule_id, PEER_STATE[event.kind], event.reading.seq // 4))
    return out


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scalar_path_matches_peer_expectation(name):
    engine = AlarmEngine(peer_profile(10))
    events = run_scalar(engine, scenario_readings(name))
    assert as_peer(events) == SCENARIOS[name][2]


@pytest.mark.parametrize("name", list(SCENARIOS))
@pytest.mark.parametrize("size", [1, 10, 37, 1000])
def test_batch_path_matches_peer_expectation(name, size):
    engine = AlarmEngine(peer_profile(10), vector_min_rows=0)
    events = run_batched(engine, scenario_readings(name), size)
    assert as_peer(events) == SCENARIOS[name][2]


def test_all_scenarios_interleaved_in_one_engine():
    """20 sessions per scenario, interleaved reading by reading, as the peer's bench runs them."""
    readings = []
    expected = set()
    per_session = {}
    for replica in range(20):
        for name in SCENARIOS:
            session = f"{name}-{replica}"
            per_session[session] = [
                reading(r.t, r.values, session=session, seq=r.seq) for r in scenario_readings(name)
            ]
            expected |= {(session, rule, state, j) for rule, state, j in SCENARIOS[name][2]}
    order = sorted(
        (r for rs in per_session.values() for r in rs), key=lambda r: (r.seq, r.session_id)
    )
    readings.extend(order)
    engine = AlarmEngine(peer_profile(10))
    events = run_batched(engine, readings, 1000)
    got = [(e.session_id, *as_peer([e])[0]) for e in events]
    assert len(got) == len(set(got))
    assert set(got) == expected


def test_events_carry_the_peer_contract_fields():
    engine = AlarmEngine(peer_profile(10))
    events = run_scalar(engine, scenario_readings("long_12s"))
    raised = events[0]
    assert raised.kind is EventKind.RAISED
    assert raised.rule_id == "hr_high"
    assert raised.priority == "high"
    assert raised.threshold == 120
    assert raised.value == 130
    assert raised.onset_t == T0 + START_J
    assert raised.t == T0 + 15
    assert raised.reading is not None
    assert raised.reading.seq == 4 * 15
    cleared = events[1]
    assert cleared.kind is EventKind.RESOLVED
    assert cleared.alarm_id == raised.alarm_id == "long_12s:hr_high:1800000005000"
