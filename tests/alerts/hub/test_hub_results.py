"""The engine's answers to commands (`CommandResult`) reach the clinician concerned, against a
real hub, a real Mosquitto and real websocket clients (docs/websocket.md, command_result)."""

from __future__ import annotations

import pytest
from hub_testkit import alarm_event, alarm_state, dashboard, descriptor, engine, http_get

from vigil.wire import CommandResult

pytestmark = pytest.mark.integration


def results(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["type"] == "command_result"]


async def test_a_rejected_acknowledgement_reaches_only_the_connection_that_sent_it(
    hub_env, mosquitto, mqtt_root
):
    async with hub_env() as (hub, up), engine(mosquitto, mqtt_root) as eng:
        await up.session(descriptor("S1", ["dr-a", "dr-b"]))
        event = alarm_event("S1", 1)
        async with (
            dashboard(hub, "dr-a") as (a, _),
            dashboard(hub, "dr-a") as (a_elsewhere, _),
            dashboard(hub, "dr-b") as (b, _),
            dashboard(hub, "sup-1") as (sup, _),
        ):
            await up.alarm(event, alarm_state(event))
            for client in (a, a_elsewhere, b, sup):
                await client.until(lambda m: m["type"] == "alarm_state")
            ok = await a.request(
                {"type": "ack", "req": "k1", "session": "S1", "alarm_id": event.alarm_id}
            )
            _, command = await eng.command()
            await eng.answer(command, accepted=False, reason="unknown_alarm")
            relayed = await a.until(lambda m: m["type"] == "command_result")
            others = {
                "a_elsewhere": results(await a_elsewhere.quiet(0.3)),
                "b": results(await b.quiet(0.1)),
                "sup": results(await sup.quiet(0.1)),
            }
            _, metrics = await http_get(hub.port, "/metrics")
    assert ok["type"] == "ok"
    assert command.request_id is not None
    assert relayed == {
        "type": "command_result",
        "req": "k1",
        "command": "ack",
        "session": "S1",
        "alarm_id": event.alarm_id,
        "by": "dr-a",
        "accepted": False,
        "reason": "unknown_alarm",
        "t": command.t,
    }
    assert others == {"a_elsewhere": [], "b": [], "sup": []}
    assert b'vigil_hub_command_results_total{outcome="rejected"} 1' in metrics
    rejected = [r for r in hub.audit.records if r.action == "command_rejected"]
    assert [(r.by, r.session, r.alarm_id, r.detail) for r in rejected] == [
        ("dr-a", "S1", event.alarm_id, "acknowledge: unknown_alarm")
    ]


async def test_results_the_hub_cannot_match_go_to_that_clinicians_connections_on_the_session(
    hub_env, mosquitto, mqtt_root
):
    async with hub_env() as (hub, up), engine(mosquitto, mqtt_root) as eng:
        await up.session(descriptor("S1", ["dr-a", "dr-b"]))
        await up.session(descriptor("S2", ["dr-b"]))
        event = alarm_event("S1", 1)
        async with dashboard(hub, "dr-a") as (a, _), dashboard(hub, "dr-b") as (b, _):
            await up.alarm(event, alarm_state(event))
            await a.until(lambda m: m["type"] == "alarm_state")
            await b.until(lambda m: m["type"] == "alarm_state")
            # The sender is gone before the engine answers: the clinician's other dashboard
            # (here, a new connection) gets it, without the old connection's req.
            async with dashboard(hub, "dr-a") as (gone, _):
                await gone.request(
                    {
                        "type": "audio_pause",
                        "req": "p1",
                        "session": "S1",
                        "alarm_id": event.alarm_id,
                        "duration_s": 60,
                    }
                )
            _, pause = await eng.command()
            await eng.answer(pause, accepted=True)
            after_disconnect = await a.until(lambda m: m["type"] == "command_result")
            # No request id (another producer): by account, only where the session is visible.
            for session in ("S2", "S1"):
                await up.command_result(
                    CommandResult(
                        session=session,
                        alarm_id=f"{session}:spo2_low:9",
                        action="escalate",
                        by="dr-a",
                        t=hub.clock(),
                        accepted=False,
                        reason="already_resolved",
                    )
                )
            unmatched = await a.until(lambda m: m["type"] == "command_result")
            to_b = results(await b.quiet(0.3))
            to_a = results(await a.quiet(0.1))
    assert (after_disconnect["req"], after_disconnect["command"]) == (None, "audio_pause")
    assert (after_disconnect["accepted"], after_disconnect["reason"]) == (True, None)
    assert (unmatched["session"], unmatched["req"], unmatched["reason"]) == (
        "S1",
        None,
        "already_resolved",
    )
    assert to_a == []  # the S2 result was never sent: dr-a does not see S2
    assert to_b == []  # nor are dr-a's results sent to a colleague
    assert [r.detail for r in hub.audit.records if r.action == "command_rejected"] == [
        "escalate: already_resolved",
        "escalate: already_resolved",
    ]
