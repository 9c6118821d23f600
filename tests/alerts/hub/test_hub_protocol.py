"""The websocket protocol against a real hub on a real Mosquitto (docs/websocket.md)."""

from __future__ import annotations

import json

import pytest
import websockets
from hub_testkit import (
    PASSWORD,
    SECRET,
    alarm_event,
    alarm_state,
    dashboard,
    descriptor,
    http_get,
    hub_settings,
    login,
    read_until_closed,
    running_hub,
)

from alerts.hub.tokens import TokenSigner

pytestmark = pytest.mark.integration


async def close_of(url: str, messages: list[str], **connect) -> tuple[int, str]:
    async with websockets.connect(url, **connect) as ws:
        for message in messages:
            await ws.send(message)
        await read_until_closed(ws)
    assert ws.close_code is not None
    return ws.close_code, ws.close_reason or ""


async def test_refused_connections_get_their_documented_close_codes(mosquitto, mqtt_root, tmp_path):
    settings = hub_settings(mosquitto, mqtt_root, tmp_path, auth_timeout_s=0.5)
    async with running_hub(settings) as hub:
        signer = TokenSigner(SECRET, 60)
        expired, _ = signer.issue("dr-a", hub.clock() - 120)
        unknown, _ = signer.issue("nobody", hub.clock())
        forged, _ = TokenSigner(b"x" * 32, 60).issue("dr-a", hub.clock())
        hello = lambda token: json.dumps({"type": "hello", "v": 1, "token": token})  # noqa: E731
        results = {
            "bad password": await close_of(
                hub.url, [json.dumps({"type": "login", "user": "dr-a", "password": "wrong"})]
            ),
            "unknown user": await close_of(
                hub.url, [json.dumps({"type": "login", "user": "eve", "password": PASSWORD})]
            ),
            "garbage token": await close_of(hub.url, [hello("not-a-token")]),
            "forged token": await close_of(hub.url, [hello(forged)]),
            "expired token": await close_of(hub.url, [hello(expired)]),
            "removed account": await close_of(hub.url, [hello(unknown)]),
            "command first": await close_of(
                hub.url, [json.dumps({"type": "ack", "session": "S1", "alarm_id": "a"})]
            ),
            "not json": await close_of(hub.url, ["{nope"]),
            "version 2": await close_of(
                hub.url, [json.dumps({"type": "hello", "v": 2, "token": "x"})]
            ),
            "silence": await close_of(hub.url, []),
            "foreign origin": await close_of(hub.url, [], origin="https://evil.example"),
        }
        status, body = await http_get(hub.port, "/metrics")
    assert results == {
        "bad password": (4401, "invalid credentials"),
        "unknown user": (4401, "invalid credentials"),
        "garbage token": (4401, "invalid token"),
        "forged token": (4401, "invalid token"),
        "expired token": (4401, "token expired"),
        "removed account": (4401, "account no longer exists"),
        "command first": (4401, "authenticate first: send hello"),
        "not json": (4400, "malformed: not a JSON object"),
        "version 2": (4400, "unsupported protocol version 2; use 1"),
        "silence": (4408, "authentication timeout: send hello"),
        "foreign origin": (4403, "origin not allowed"),
    }
    assert status == 200
    assert b'vigil_hub_auth_failures_total{reason="credentials"} 2' in body
    assert PASSWORD.encode() not in body


async def test_snapshot_shows_each_clinician_only_their_sessions(hub_env):
    async with hub_env() as (hub, up):
        event = alarm_event("S1", 1)
        async with dashboard(hub, "sup-1") as (sup, _):
            await up.session(descriptor("S1", ["dr-a"]))
            await up.session(descriptor("S2", ["dr-b"]))
            await up.alarm(event, alarm_state(event))
            await sup.until(lambda m: m["type"] == "alarm_state")
        snapshots = {}
        for user in ("dr-a", "dr-b", "sup-1"):
            async with dashboard(hub, user) as (_, snapshot):
                snapshots[user] = snapshot
    assert {u: [s["session"] for s in snap["sessions"]] for u, snap in snapshots.items()} == {
        "dr-a": ["S1"],
        "dr-b": ["S2"],
        "sup-1": ["S1", "S2"],
    }
    assert {u: [a["alarm_id"] for a in snap["alarms"]] for u, snap in snapshots.items()} == {
        "dr-a": ["S1:spo2_low:1"],
        "dr-b": [],
        "sup-1": ["S1:spo2_low:1"],
    }
    snap = snapshots["dr-a"]
    assert (snap["type"], snap["v"], snap["user"], snap["role"]) == (
        "snapshot",
        1,
        "dr-a",
        "clinician",
    )
    alarm = snap["alarms"][0]
    assert alarm["state"]["state"] == "active"
    assert alarm["event"]["event_id"] == event.event_id
    assert alarm["delivery"]["level"] == 0
    assert snap["sessions"][0]["descriptor"]["patient"] == "P-S1"
    assert snap["upstream"] == {"mqtt": True}


async def test_other_clinicians_session_is_invisible_and_its_commands_refused(hub_env):
    async with hub_env() as (hub, up):
        await up.session(descriptor("S1", ["dr-a"]))
        await up.session(descriptor("S2", ["dr-b"]))
        async with dashboard(hub, "dr-b") as (b, _):
            s1, s2 = alarm_event("S1", 1), alarm_event("S2", 1)
            await up.alarm(s1, alarm_state(s1))
            await up.alarm(s2, alarm_state(s2))
            seen = [m for m in await b.quiet(0.5) if "session" in m]
            reply = await b.request(
                {"type": "ack", "req": "r1", "session": "S1", "alarm_id": s1.alarm_id}
            )
    assert {m["session"] for m in seen} == {"S2"}
    assert reply == {
        "type": "error",
        "req": "r1",
        "code": "not_authorised",
        "message": "session S1 is not assigned to you",
    }


async def test_malformed_commands_each_get_their_documented_answer(hub_env):
    async with hub_env() as (hub, up):
        await up.session(descriptor("S1", ["dr-a"]))
        async with dashboard(hub, "dr-a") as (a, _):
            await a.send("{not json")
            not_json = await a.until(lambda m: m["type"] == "error")
            unknown_type = await a.request({"type": "dance", "req": "r2"})
            missing = await a.request({"type": "ack", "req": "r3", "session": "S1"})
            bad_type = await a.request(
                {"type": "note", "req": "r4", "session": "S1", "alarm_id": "x", "text": 5}
            )
            too_long = await a.request(
                {"type": "note", "req": "r5", "session": "S1", "alarm_id": "x", "text": "n" * 2001}
            )
            bad_pause = await a.request(
                {
                    "type": "audio_pause",
                    "req": "r6",
                    "session": "S1",
                    "alarm_id": "x",
                    "duration_s": -1,
                }
            )
            unknown_alarm = await a.request(
                {"type": "ack", "req": "r7", "session": "S1", "alarm_id": "S1:x:1"}
            )
            again = await a.request({"type": "hello", "req": "r8", "v": 1, "token": "t"})
            extra = await a.request(
                {"type": "seen", "req": "r9", "session": "S1", "alarm_id": "x", "zzz": 1}
            )
    assert not_json == {
        "type": "error",
        "req": None,
        "code": "malformed",
        "message": "not a JSON object",
    }
    assert unknown_type == {
        "type": "error",
        "req": "r2",
        "code": "unknown_type",
        "message": "unknown message type",
    }
    assert missing == {
        "type": "error",
        "req": "r3",
        "code": "malformed",
        "message": "Object missing required field `alarm_id`",
    }
    assert bad_type["code"] == "malformed"
    assert "$.text" in bad_type["message"]
    assert too_long["code"] == "malformed"
    assert "$.text" in too_long["message"]
    assert bad_pause["code"] == "malformed"
    assert "$.duration_s" in bad_pause["message"]
    assert unknown_alarm == {
        "type": "error",
        "req": "r7",
        "code": "unknown_alarm",
        "message": "no active alarm S1:x:1 in session S1",
    }
    assert again["code"] == "bad_state"
    assert extra["code"] == "malformed"
    assert "zzz" in extra["message"]


async def test_health_metrics_and_dashboard_files_are_served_on_the_same_port(
    mosquitto, mqtt_root, tmp_path
):
    async with running_hub(hub_settings(mosquitto, mqtt_root, tmp_path)) as hub:
        health = await http_get(hub.port, "/health")
        metrics = await http_get(hub.port, "/metrics")
        index = await http_get(hub.port, "/")
        missing = await http_get(hub.port, "/../../etc/passwd")
    assert health[0] == 200
    body = json.loads(health[1])
    assert (body["status"], body["mqtt"], body["clients"]) == ("ok", "connected", 0)
    assert metrics[0] == 200
    for name in (
        "vigil_hub_connected_clinicians",
        "vigil_hub_delivery_latency_seconds_bucket",
        "vigil_hub_queue_depth_max",
    ):
        assert name.encode() in metrics[1]
    assert index[0] == 200
    assert b"<html" in index[1]
    assert missing[0] == 404


async def test_login_token_refresh_extends_the_connection(mosquitto, mqtt_root, tmp_path):
    async with running_hub(hub_settings(mosquitto, mqtt_root, tmp_path)) as hub:
        token = await login(hub.url, "dr-a")
        async with dashboard(hub, "dr-a", token=token) as (a, snapshot):
            hub.clock.advance(60)
            await a.send({"type": "refresh", "req": "f"})
            reply = await a.until(lambda m: m["type"] == "token")
    assert reply["req"] == "f"
    assert reply["user"] == "dr-a"
    assert reply["role"] == "clinician"
    assert reply["expires_at"] == pytest.approx(snapshot["expires_at"] + 60)
    assert reply["token"] != token
