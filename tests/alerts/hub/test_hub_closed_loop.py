"""Commands, resume, escalation, backpressure and vitals, against a real hub and Mosquitto."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import msgspec
import pytest
import websockets
from hub_testkit import (
    alarm_event,
    alarm_state,
    dashboard,
    descriptor,
    engine,
    http_get,
    hub_with_upstream,
    login,
    read_until_closed,
)
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync

from alerts.hub.audit import AuditRecord
from alerts.hub.audit_writer import InfluxAuditWriter
from alerts.hub.core import CoreSettings
from alerts.hub.metrics import HubMetrics
from monitor.storage.influx import InfluxSettings
from vigil.services.endpoints import MqttEndpoint
from vigil.wire import Reading, ReadingBatch, Topics

pytestmark = pytest.mark.integration


async def test_acknowledge_is_forwarded_to_the_engine_and_seen_by_the_supervisor(
    hub_env, mosquitto, mqtt_root
):
    topics = Topics(mqtt_root)
    async with hub_env() as (hub, up), engine(mosquitto, mqtt_root) as eng:
        await up.session(descriptor("S1", ["dr-a"]))
        event = alarm_event("S1", 1)
        async with dashboard(hub, "dr-a") as (a, _), dashboard(hub, "sup-1") as (sup, _):
            await up.alarm(event, alarm_state(event))
            raised = await a.until(lambda m: m["type"] == "alarm_event")
            await sup.until(lambda m: m["type"] == "alarm_event")
            seen = await a.request(
                {"type": "seen", "req": "s", "session": "S1", "alarm_id": event.alarm_id}
            )
            ack = await a.request(
                {"type": "ack", "req": "k", "session": "S1", "alarm_id": event.alarm_id}
            )
            topic, command = await eng.command()
            receipt = await sup.until(
                lambda m: m["type"] == "receipt" and m["receipt"] == "acknowledged"
            )
            pause = await a.request(
                {
                    "type": "audio_pause",
                    "req": "p",
                    "session": "S1",
                    "alarm_id": event.alarm_id,
                    "duration_s": 9999 / 10,
                }
            )
            noted = await a.request(
                {
                    "type": "note",
                    "req": "n",
                    "session": "S1",
                    "alarm_id": event.alarm_id,
                    "text": "called the peer monitor",
                }
            )
            sup_note = await sup.until(lambda m: m["type"] == "note")
    assert raised["event"]["event_id"] == event.event_id
    assert raised["id"] >= 1
    assert seen == {"type": "ok", "req": "s", "command": "seen", "alarm_id": event.alarm_id}
    assert ack == {"type": "ok", "req": "k", "command": "ack", "alarm_id": event.alarm_id}
    assert topic == topics.commands("S1")
    assert (command.session, command.alarm_id, command.action, command.by) == (
        "S1",
        event.alarm_id,
        "acknowledge",
        "dr-a",
    )
    assert command.t == pytest.approx(hub.clock())
    assert (receipt["user"], receipt["alarm_id"]) == ("dr-a", event.alarm_id)
    assert receipt["delivery"]["acknowledged_by"] == "dr-a"
    assert receipt["delivery"]["receipts"]["dr-a"]["seen"] is not None
    assert pause["duration_s"] == 300.0  # capped at audio_pause_max_s
    assert pause["until"] == pytest.approx(hub.clock() + 300)
    assert noted == {"type": "ok", "req": "n", "command": "note", "alarm_id": event.alarm_id}
    assert sup_note["text"] == "called the peer monitor"
    assert sup_note["by"] == "dr-a"
    assert [
        (r.action, r.by, r.session, r.alarm_id) for r in hub.audit.records if r.action != "login"
    ] == [
        ("seen", "dr-a", "S1", event.alarm_id),
        ("acknowledge", "dr-a", "S1", event.alarm_id),
        ("audio_pause", "dr-a", "S1", event.alarm_id),
        ("note", "dr-a", "S1", event.alarm_id),
    ]
    assert hub.audit.records[-1].note == "called the peer monitor"


async def test_resume_after_a_drop_delivers_exactly_what_was_missed(hub_env):
    async with hub_env() as (hub, up):
        await up.session(descriptor("S1", ["dr-a"]))
        await up.session(descriptor("S2", ["dr-b"]))
        async with dashboard(hub, "sup-1") as (sup, _):
            async with dashboard(hub, "dr-a") as (a, snapshot):
                first = alarm_event("S1", 1)
                await up.alarm(first, alarm_state(first))
                await a.until(lambda m: m["type"] == "alarm_state")
                last_id = max(m.get("id", 0) for m in a.received)
                epoch = snapshot["epoch"]
            # Dropped: events of S1 (visible) and S2 (not) happen meanwhile.
            missed = [alarm_event("S1", n) for n in (2, 3)] + [alarm_event("S2", 1)]
            for event in missed:
                await up.alarm(event, alarm_state(event))
            await sup.until(lambda m: m["type"] == "alarm_state" and m["session"] == "S2")
            await sup.quiet(0.2)
            async with dashboard(
                hub, "dr-a", resume={"epoch": epoch, "last_event_id": last_id}
            ) as (a2, header):
                replayed = [await a2.recv() for _ in range(header["count"])]
                rest = await a2.quiet(0.3)
            async with dashboard(
                hub, "dr-a", resume={"epoch": epoch, "last_event_id": last_id + 10_000}
            ) as (_, future):
                pass
            async with dashboard(
                hub, "dr-a", resume={"epoch": "another-hub", "last_event_id": 1}
            ) as (_, other):
                pass
    expected = [m for m in sup.received if m.get("id", 0) > last_id and m.get("session") == "S1"]
    assert header["type"] == "resumed"
    assert header["from_event_id"] == last_id
    assert replayed == expected
    assert [m["type"] for m in replayed] == ["alarm_event", "alarm_state"] * 2
    assert len({m["id"] for m in replayed}) == len(replayed)
    assert all(m["id"] > last_id for m in replayed)
    assert not [m for m in rest if "id" in m]  # nothing duplicated after the replay
    assert (future["type"], other["type"]) == ("snapshot", "snapshot")


async def test_resume_beyond_the_buffer_gets_a_fresh_snapshot(hub_env):
    async with hub_env(core=CoreSettings(resume_capacity=4)) as (hub, up):
        await up.session(descriptor("S1", ["dr-a"]))
        async with dashboard(hub, "dr-a") as (a, snapshot):
            for n in range(1, 5):
                event = alarm_event("S1", n)
                await up.alarm(event, alarm_state(event))
            await a.until(
                lambda m: m.get("alarm_id") == "S1:spo2_low:4" and m["type"] == "alarm_state"
            )
        async with dashboard(
            hub,
            "dr-a",
            resume={"epoch": snapshot["epoch"], "last_event_id": snapshot["last_event_id"]},
        ) as (_, fresh):
            pass
    assert fresh["type"] == "snapshot"
    assert sorted(a["alarm_id"] for a in fresh["alarms"]) == [
        f"S1:spo2_low:{n}" for n in range(1, 5)
    ]


async def test_unacknowledged_high_alarm_escalates_on_time_and_acknowledged_one_does_not(
    hub_env,
):
    async with hub_env(escalation_s={"high": 120.0}) as (hub, up):
        await up.session(descriptor("S1", ["dr-a", "dr-b"]))
        async with dashboard(hub, "dr-a") as (a, _), dashboard(hub, "sup-1") as (sup, _):
            ignored, handled, low = (
                alarm_event("S1", 1),
                alarm_event("S1", 2),
                alarm_event("S1", 3, priority="low"),
            )
            for event in (ignored, handled, low):
                await up.alarm(event, alarm_state(event))
            await sup.until(
                lambda m: m.get("alarm_id") == low.alarm_id and m["type"] == "alarm_state"
            )
            await a.request(
                {"type": "ack", "req": "k", "session": "S1", "alarm_id": handled.alarm_id}
            )
            hub.clock.advance(119.9)
            early = [m for m in await sup.quiet(0.3) if m["type"] == "escalation"]
            hub.clock.advance(0.2)
            escalation = await sup.until(lambda m: m["type"] == "escalation")
            clinician_copy = await a.until(lambda m: m["type"] == "escalation")
            later = [m for m in await sup.quiet(0.3) if m["type"] == "escalation"]
    assert early == []
    assert later == []
    assert escalation == clinician_copy
    assert {
        k: escalation[k]
        for k in ("session", "alarm_id", "priority", "level", "reason", "by", "after_s")
    } == {
        "session": "S1",
        "alarm_id": ignored.alarm_id,
        "priority": "high",
        "level": 1,
        "reason": "not_acknowledged",
        "by": None,
        "after_s": 120.0,
    }
    assert escalation["t"] == pytest.approx(hub.clock())
    audit = [r for r in hub.audit.records if r.action == "escalate"]
    assert [(r.by, r.session, r.alarm_id, r.detail) for r in audit] == [
        ("hub", "S1", ignored.alarm_id, "level 1: not_acknowledged")
    ]


async def test_slow_client_is_disconnected_and_the_others_are_told(hub_env):
    async with hub_env(
        core=CoreSettings(client_queue_max=20), close_timeout_s=5.0, send_buffer_bytes=4096
    ) as (hub, up):
        await up.session(descriptor("S1", ["dr-a", "dr-b"]))
        token = await login(hub.url, "dr-b")
        # A tiny receive buffer and no reading: the hub's writes back up quickly.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        sock.connect(("127.0.0.1", hub.port))
        async with dashboard(hub, "dr-a") as (a, _):
            slow = await websockets.connect(hub.url, sock=sock, max_queue=1)
            await slow.send(json.dumps({"type": "hello", "v": 1, "token": token}))
            # dr-a keeps reading while the alarms come.
            keeping_up = asyncio.create_task(a.quiet(1.0))
            long_text = "x" * 1500
            for n in range(1, 200):
                await up.alarm(alarm_event("S1", n, message=long_text))
                if n % 5 == 0:
                    await asyncio.sleep(0.02)  # bursts the queue absorbs, for a reader
            await keeping_up
            await read_until_closed(slow)
            a_alarms = [m for m in a.received if m["type"] == "alarm_event"]
            [failure] = [m for m in a.received if m["type"] == "delivery_failure"]
    assert (slow.close_code, slow.close_reason) == (
        4429,
        "cannot keep up with alarm events; reconnect to resume",
    )
    assert {k: failure[k] for k in ("session", "user", "priority", "reason")} == {
        "session": "S1",
        "user": "dr-b",
        "priority": "medium",
        "reason": "client_too_slow",
    }
    assert len(a_alarms) == 199  # the clinician who keeps up misses nothing
    assert [
        (r.action, r.by, r.session) for r in hub.audit.records if r.action == "delivery_failure"
    ] == [("delivery_failure", "dr-b", "S1")]


async def test_vitals_reach_the_dashboard_at_most_once_a_second_with_the_latest_values(hub_env):
    async with hub_env() as (hub, up):
        await up.session(descriptor("S1", ["dr-a"]))
        async with dashboard(hub, "dr-a") as (a, _):
            now = time.time()
            for seq in range(20):
                batch = ReadingBatch(
                    gateway="gw-1",
                    session="S1",
                    device="ox-1",
                    kind="pulse_oximeter",
                    readings=[
                        Reading(
                            seq=seq,
                            t=now + seq * 0.01,
                            values={"spo2": 90.0 + seq % 10, "pr": 60.0 + seq},
                            contact=True,
                        )
                    ],
                )
                await up.raw(up.topics.readings("S1"), msgspec.json.encode(batch))
            frames = [m for m in await a.quiet(1.6) if m["type"] == "vitals"]
    assert 1 <= len(frames) <= 2
    assert frames[-1]["values"]["pr"] == {"value": 79.0, "t": pytest.approx(now + 0.19)}
    assert frames[-1]["contact"] == {"ox-1": True}


async def test_audit_trail_lands_in_influxdb(influxdb, mqtt_root):
    metrics = HubMetrics()
    settings = InfluxSettings(
        url=influxdb.url, org=influxdb.org, bucket=influxdb.bucket, token=influxdb.token
    )
    writer = InfluxAuditWriter(settings, metrics=metrics)
    t = round(time.time(), 3)
    session = f"S-{mqtt_root}"
    task = asyncio.create_task(writer.run())
    writer.record(
        [
            AuditRecord(
                action="acknowledge",
                by="dr-a",
                t=t,
                session=session,
                alarm_id=f"{session}:spo2_low:1",
            ),
            AuditRecord(
                action="note",
                by="dr-a",
                t=t - 1,
                session=session,
                alarm_id=f"{session}:spo2_low:1",
                note='said "ok"',
            ),
        ]
    )
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    async with InfluxDBClientAsync(
        url=influxdb.url, token=influxdb.token, org=influxdb.org
    ) as client:
        tables = await client.query_api().query(
            f'from(bucket: "{influxdb.bucket}") |> range(start: -1h) '
            f'|> filter(fn: (r) => r._measurement == "audit" and r.session == "{session}")'
        )
    rows = sorted(
        (r["action"], r["by"], r.get_field(), r.get_value())
        for table in tables
        for r in table.records
    )
    assert rows == [
        ("acknowledge", "dr-a", "alarm_id", f"{session}:spo2_low:1"),
        ("note", "dr-a", "alarm_id", f"{session}:spo2_low:1"),
        ("note", "dr-a", "note", 'said "ok"'),
    ]
    assert metrics.audit_failures == 0


async def test_broker_outage_is_visible_and_commands_are_refused_until_it_is_back(
    own_mosquitto, mqtt_root, tmp_path
):
    endpoint = MqttEndpoint(host="127.0.0.1", port=own_mosquitto.port, pid=0)
    async with hub_with_upstream(endpoint, mqtt_root, tmp_path) as (hub, up):
        await up.session(descriptor("S1", ["dr-a"]))
        event = alarm_event("S1", 1)
        async with dashboard(hub, "dr-a") as (a, _):
            await up.alarm(event, alarm_state(event))
            await a.until(lambda m: m["type"] == "alarm_state")
            own_mosquitto.stop()
            down = await a.until(lambda m: m["type"] == "upstream")
            health, body = await http_get(hub.port, "/health")
            refused = await a.request(
                {"type": "ack", "req": "k", "session": "S1", "alarm_id": event.alarm_id}
            )
            own_mosquitto.start()
            up_again = await a.until(lambda m: m["type"] == "upstream", timeout=10)
            accepted = await a.request(
                {"type": "ack", "req": "k2", "session": "S1", "alarm_id": event.alarm_id}
            )
    assert down["mqtt"] == "disconnected"
    assert health == 503
    assert json.loads(body)["status"] == "degraded"
    assert refused["code"] == "upstream_unavailable"
    assert refused["message"].endswith("the command was not delivered, retry")
    assert up_again["mqtt"] == "connected"
    assert accepted["type"] == "ok"
    assert [r.action for r in hub.audit.records if r.action == "acknowledge"] == ["acknowledge"]
