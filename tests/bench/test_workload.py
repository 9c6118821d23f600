"""The bench's pure parts: the reference model, the plan, the wire formats, the MQTT framing."""

from __future__ import annotations

import json

import msgspec
import numpy as np
import pytest

from bench.alarms import climb
from bench.mqtt_raw import publish_packet, remaining_length, split_packets, utf8
from bench.workload import (
    HYSTERESIS,
    RULES,
    SCRIPT_NAMES,
    PeerFormat,
    Periodic,
    Plan,
    Scripted,
    VigilFormat,
    expected_events,
    scripted_expectations,
)
from vigil.wire import ReadingBatch


def test_reference_model_agrees_with_the_hand_written_expectations() -> None:
    plan = Plan(len(SCRIPT_NAMES) * 2, len(SCRIPT_NAMES) * 2 * 4.0, 1, 30.0, Scripted())
    assert expected_events(plan, 10.0, 1_800_000_000.0) == scripted_expectations(plan.sessions)


def test_reference_model_matches_a_plain_walk_over_every_reading() -> None:
    """The model skips quiet rows after quiet rows; walking every row gives the same set."""
    plan = Plan(40, 400.0, 10, 30.0, Periodic(7, 3))
    v = Periodic(7, 3).matrix(plan.sessions, plan.per_session)
    state: dict[tuple[int, str], list[object]] = {}
    want = set()
    for s in range(plan.sessions):
        for k in range(plan.per_session):
            t = plan.reading_time(0.0, s, k)
            for rule in RULES:
                if rule.metric != ("hr", "spo2", "sbp", "dbp")[k % 4]:
                    continue
                st = state.setdefault((s, rule.rule_id), [False, None])
                if not st[0]:
                    if not rule.violates(v[s, k]):
                        st[1] = None
                        continue
                    st[1] = t if st[1] is None else st[1]
                    if t - st[1] >= 0.5:  # type: ignore[operator]
                        st[0] = True
                        want.add((s, rule.rule_id, "raised", k))
                elif rule.back_inside(v[s, k]):
                    st[0], st[1] = False, None
                    want.add((s, rule.rule_id, "cleared", k))
    assert want
    assert expected_events(plan, 0.5, 0.0) == want


def test_normal_values_are_inside_every_reset_band() -> None:
    v = Periodic(10**9, 0).matrix(200, 400)
    for mi, metric in enumerate(("hr", "spo2", "sbp", "dbp")):
        column = v[:, mi::4]
        for rule in (r for r in RULES if r.metric == metric):
            if rule.above:
                assert column.max() <= rule.limit - HYSTERESIS
            else:
                assert column.min() >= rule.limit + HYSTERESIS


def test_periodic_workload_crosses_at_the_planned_fraction() -> None:
    v = Periodic(100, 2).matrix(1000, 400)
    normal = Periodic(10**9, 0).matrix(1000, 400)
    assert np.mean(v != normal) == pytest.approx(0.02, abs=0.002)


@pytest.mark.parametrize("batch", [1, 10])
def test_plan_maps_every_reading_to_the_message_that_carries_it(batch: int) -> None:
    plan = Plan(30, 300.0, batch, 2.0)
    seen = set()
    for m in range(plan.messages):
        s, k0 = plan.message(m)
        for k in range(k0, k0 + batch):
            assert plan.message_index(s, k) == m
            seen.add((s, k))
    assert len(seen) == plan.readings == plan.sessions * plan.per_session


def test_reading_times_are_monotonic_per_session_and_due_when_sent() -> None:
    plan = Plan(10, 100.0, 10, 3.0)
    for s in range(plan.sessions):
        times = [plan.reading_time(5.0, s, k) for k in range(plan.per_session)]
        assert times == sorted(times)
    s, k0 = plan.message(13)
    assert plan.reading_time(0.0, s, k0 + 9) == pytest.approx(13 / plan.message_rate, abs=1e-3)


def test_peer_payloads_are_the_peer_contract() -> None:
    fmt = PeerFormat()
    one = json.loads(fmt.payload("S1", [(4, 0, 132, 12.5)], array=False))
    assert one == {"session": "S1", "metric": "hr", "value": 132, "t": 12.5, "seq": 4}
    many = json.loads(fmt.payload("S1", [(4, 0, 132, 12.5), (5, 1, 97, 12.75)], array=True))
    assert [r["metric"] for r in many] == ["hr", "spo2"]
    assert fmt.topic("S1") == "peer/S1/vitals"
    alarm = b'{"session":"S1","rule":"hr_high","state":"raised","seq":4}'
    assert fmt.alarm_key(alarm) == ("S1", "hr_high", "raised", 4)


def test_vigil_payloads_decode_as_wire_reading_batches() -> None:
    fmt = VigilFormat()
    raw = fmt.payload("S1", [(4, 0, 132, 12.5), (5, 2, 188, 12.75)], array=True)
    batch = msgspec.json.decode(raw, type=ReadingBatch)
    assert (batch.session, batch.device, len(batch.readings)) == ("S1", "S1-d", 2)
    assert batch.readings[1].values == {"sbp": 188.0}
    assert fmt.topic("S1").startswith("vigil/v1/readings/")
    event = b'{"session":"S1","rule":"hr_high","kind":"resolved","seq":9}'
    assert fmt.alarm_key(event) == ("S1", "hr_high", "cleared", 9)
    assert fmt.alarm_key(b'{"session":"S1","rule":"x","kind":"escalated","seq":9}') is None


@pytest.mark.parametrize("n", [0, 1, 127, 128, 16_383, 16_384, 2_097_152])
def test_remaining_length_round_trips(n: int) -> None:
    payload = b"x" * n
    packet = publish_packet(utf8("a/b"), payload, pid=7)
    packets, used = split_packets(bytearray(packet + b"\x40"))
    assert used == len(packet)
    assert packets == [(0x32, utf8("a/b") + b"\x00\x07" + payload)]
    assert remaining_length(n)[-1] < 0x80


@pytest.mark.parametrize(
    ("limit", "start", "want", "tried"),
    [
        (25, 2, 25, [5, 10, 15, 20, 25, 30]),  # climbs until a rate fails
        (3, 2, 2, [5, 2]),  # the first rate fails: walks down until one passes
        (0, 2, 0, [5, 2, 1]),  # nothing passes
        (99, 0, 30, [1, 2, 5, 10, 15, 20, 25, 30]),  # the top passes
    ],
)
def test_climb_finds_the_highest_passing_rate(
    limit: int, start: int, want: int, tried: list[int]
) -> None:
    seen: list[int] = []
    fresh: list[bool] = []

    def passes(rate: int, after_failure: bool) -> bool:
        seen.append(rate)
        fresh.append(after_failure)
        return rate <= limit

    assert climb((1, 2, 5, 10, 15, 20, 25, 30), start, passes) == want
    assert seen == tried
    # only steps taken on the way down start fresh
    assert fresh == [i > 0 and tried[i] < tried[i - 1] for i in range(len(tried))]
