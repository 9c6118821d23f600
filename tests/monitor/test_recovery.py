"""Restart recovery against the real Mosquitto: what the retained messages of our shards say."""

from __future__ import annotations

import time

import aiomqtt
import msgspec
import pytest

from monitor.recovery import collect_retained
from vigil.mqtt_settings import MqttSettings
from vigil.services.endpoints import MqttEndpoint
from vigil.wire import SessionBaseline, SessionDescriptor, SessionPending, Topics, shard_of

pytestmark = pytest.mark.integration


async def test_sessions_baselines_and_running_delays_of_owned_shards_are_collected(
    mosquitto: MqttEndpoint, mqtt_root: str
) -> None:
    topics, now = Topics(mqtt_root), time.time()
    ours, theirs = (
        f"{mqtt_root}-a",
        next(
            f"{mqtt_root}-{i}"
            for i in range(100)
            if shard_of(f"{mqtt_root}-{i}") not in {shard_of(f"{mqtt_root}-a"), shard_of("pending")}
        ),
    )
    retained: list[tuple[str, bytes]] = []
    for session in (ours, theirs, "pending"):  # a session may be called "pending"
        descriptor = SessionDescriptor(
            session=session, patient="P-1", devices=["bp-1"], profile="ketamine-home",
            clinicians=[], started=now - 900, dose_time=now - 300,
        )  # fmt: skip
        baseline = SessionBaseline(
            session=session, dose_time=now - 300, values={"sbp": 121.0}, t=now
        )
        delays = SessionPending(session=session, pending={"spo2_low": now - 5}, t=now)
        retained += [
            (topics.session(session), msgspec.json.encode(descriptor)),
            (topics.session_baseline(session), msgspec.json.encode(baseline)),
            (topics.session_pending(session), msgspec.json.encode(delays)),
        ]
    retained.append((topics.session_baseline(f"{mqtt_root}-gone"), b"not json"))
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
        for topic, payload in retained:
            await client.publish(topic, payload, qos=1, retain=True)
    try:
        found = await collect_retained(
            MqttSettings(host=mosquitto.host, port=mosquitto.port, root=mqtt_root),
            client_id=f"{mqtt_root}-restore",
            shards=frozenset({shard_of(ours), shard_of("pending")}),
            quiet_s=0.3,
            max_s=5,
        )
    finally:
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
            for topic, _ in retained:
                await client.publish(topic, b"", qos=1, retain=True)
    assert sorted(s.session for s in found.sessions) == sorted([ours, "pending"])
    assert sorted((b.session, b.values["sbp"]) for b in found.baselines) == sorted(
        [(ours, 121.0), ("pending", 121.0)]
    )
    assert sorted((p.session, p.pending["spo2_low"]) for p in found.pending) == sorted(
        [(ours, now - 5), ("pending", now - 5)]
    )
