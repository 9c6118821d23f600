"""The sans-I/O core without sockets: inbound decoding, fan-out, visibility, commands, ticks."""

from __future__ import annotations

import json

import msgspec
import pytest
from hub_testkit import alarm_event, alarm_state, descriptor

from alerts.hub.core import CommandPlan, CoreSettings, HubCore
from alerts.hub.inbound import (
    AlarmStateIn,
    CommandResultIn,
    DeviceStatusIn,
    GatewayStatusIn,
    Rejected,
    SessionIn,
    decode_inbound,
    subscriptions,
)
from alerts.hub.metrics import render
from alerts.hub.pending import PendingCommand, PendingCommands
from alerts.hub.policy import EscalationPolicy
from alerts.hub.protocol import Acknowledge, AudioPause, Escalate, Note, Seen, decode_client
from vigil.wire import CommandResult, DeviceStatus, GatewayStatus, Topics

T = Topics("r")
RESULT = CommandResult(
    session="S1",
    alarm_id="S1:spo2_low:1",
    action="acknowledge",
    by="dr-a",
    t=1000.0,
    accepted=False,
    reason="unknown_alarm",
    request_id="e.1",
)


def inbound(topic: str, payload) -> object:
    data = payload if isinstance(payload, bytes) else msgspec.json.encode(payload)
    return decode_inbound(T, topic, data)


def test_inbound_routes_every_subscribed_topic_and_rejects_the_rest():
    event = alarm_event("S1", 1)
    state = alarm_state(event)
    status = DeviceStatus(
        gateway="g", session="S1", device="ox-1", kind="pulse_oximeter", state="connected", t=1.0
    )
    assert subscriptions(T) == [
        "r/v1/alarms/+/events",
        "r/v1/alarms/+/state/#",
        "r/v1/status/device/+",
        "r/v1/status/gateway/+",
        "r/v1/sessions/+",
        "r/v1/readings/+/+",
        "r/v1/commands/+/results",
    ]
    assert inbound(T.alarm_events("S1"), event).event == event
    assert inbound(T.alarm_state("S1", event.alarm_id), state) == AlarmStateIn(
        "S1", event.alarm_id, state
    )
    assert inbound(T.alarm_state("S1", event.alarm_id), b"") == AlarmStateIn(
        "S1", event.alarm_id, None
    )
    assert inbound(T.device_status("ox-1"), status) == DeviceStatusIn("ox-1", status)
    assert inbound(T.gateway_status("g"), b"") == GatewayStatusIn("g", None)
    assert inbound(T.session("S1"), b"") == SessionIn("S1", None)
    assert inbound(T.alarm_events("S2"), event) == Rejected("session mismatch")
    assert inbound(T.alarm_state("S1", "other"), state) == Rejected(
        "session or alarm id differs from the topic"
    )
    assert inbound(T.session("S2"), descriptor("S1", [])) == Rejected("session mismatch")
    assert inbound(T.command_results("S1"), RESULT) == CommandResultIn(RESULT)
    assert inbound(T.command_results("S2"), RESULT) == Rejected("session mismatch")
    assert inbound(T.commands("S1"), b"{}") == Rejected("unexpected topic")  # the hub's own
    assert inbound("r/v1/alarms/S1/zzz", b"{}") == Rejected("unexpected topic")
    assert inbound("elsewhere/v1/sessions/S1", b"") == Rejected("unexpected topic")
    assert inbound("r/v1/sessions/-bad", b"") == Rejected("invalid id in topic")
    rejected = inbound(T.alarm_events("S1"), b"{")
    assert isinstance(rejected, Rejected)
    assert rejected.reason.startswith("invalid event payload")


class Harness:
    def __init__(self, **settings) -> None:
        self.core = HubCore(
            CoreSettings(**settings), epoch="e", escalation_after=EscalationPolicy().after_s
        )
        self.kicks: dict[str, tuple[int, str]] = {}
        self.now = 1000.0

    def feed(self, topic: str, payload) -> list:
        return self.core.on_inbound(inbound(topic, payload), self.now, 0.0)

    def attach(self, user: str, role: str = "clinician"):
        return self.core.attach(
            user=user,
            role=role,
            expires_at=self.now + 3600,
            resume=None,
            notify=lambda: None,
            kick=lambda code, reason: self.kicks.__setitem__(user, (code, reason)),
            now=self.now,
            mono=0.0,
        )

    @staticmethod
    def drain(client) -> list[dict]:
        out = []
        while (item := client.queue.pop()) is not None:
            out.append(json.loads(item.data))
        return out


def test_fan_out_respects_assignment_and_session_changes_resnapshot():
    h = Harness()
    h.feed(T.session("S1"), descriptor("S1", ["dr-a"]))
    a, b, sup = h.attach("dr-a"), h.attach("dr-b"), h.attach("sup", "supervisor")
    assert [m["type"] for m in h.drain(a)] == ["snapshot"]
    h.drain(b), h.drain(sup)
    event = alarm_event("S1", 1)
    h.feed(T.alarm_events("S1"), event)
    h.feed(T.alarm_events("S1"), event)  # QoS 1 redelivery: same event id, once
    assert [m["type"] for m in h.drain(a)] == ["alarm_event"]
    assert h.drain(b) == []
    assert [m["type"] for m in h.drain(sup)] == ["alarm_event"]
    h.feed(T.session("S1"), descriptor("S1", ["dr-b"]))  # reassigned
    assert [m["type"] for m in h.drain(a)] == ["session"]  # told it is gone
    gained = h.drain(b)
    assert [m["type"] for m in gained] == ["session", "snapshot"]
    gained = gained[1:]
    assert [x["alarm_id"] for x in gained[0]["alarms"]] == [event.alarm_id]
    assert gained[0]["feed"][0]["event"]["event_id"] == event.event_id


def test_status_updates_are_events_only_when_they_change():
    h = Harness()
    h.feed(T.session("S1"), descriptor("S1", ["dr-a"]))
    a = h.attach("dr-a")
    h.drain(a)
    status = DeviceStatus(
        gateway="g",
        session="S1",
        device="ox-1",
        kind="pulse_oximeter",
        state="connected",
        t=1.0,
        battery_pct=50,
    )
    h.feed(T.device_status("ox-1"), status)
    h.feed(T.device_status("ox-1"), status)
    h.feed(T.gateway_status("g"), GatewayStatus(gateway="g", state="online", t=1.0))
    h.feed(T.gateway_status("g"), b"")
    h.feed(T.device_status("ox-1"), b"")
    messages = h.drain(a)
    assert [(m["type"], m.get("sessions")) for m in messages] == [
        ("device_status", None),
        ("gateway_status", ["S1"]),
        ("gateway_status", ["S1"]),
        ("device_status", None),
    ]
    assert messages[0]["device"]["battery_pct"] == 50
    assert messages[-1]["device"] is None


def test_alarm_lifecycle_and_engine_events_drive_the_delivery_book():
    h = Harness()
    h.feed(T.session("S1"), descriptor("S1", ["dr-a"], profile="ketamine-home"))
    h.core._escalation_after = EscalationPolicy.with_bundled_profiles().after_s
    event = alarm_event("S1", 1)
    h.feed(T.alarm_events("S1"), event)
    h.feed(T.alarm_state("S1", event.alarm_id), alarm_state(event))
    assert h.core.delivery.get(event.alarm_id).after_s == 60.0  # the profile's high escalation
    audits = h.feed(T.alarm_events("S1"), alarm_event("S1", 1, kind="escalated"))
    assert [(r.action, r.by, r.detail) for r in audits] == [("escalate", "hub", "level 1: engine")]
    h.feed(T.alarm_events("S1"), alarm_event("S1", 1, kind="acknowledged", by="dr-a"))
    assert h.core.delivery.get(event.alarm_id).acknowledged_by == "dr-a"
    h.feed(T.alarm_events("S1"), alarm_event("S1", 1, kind="ack_expired"))
    assert h.core.delivery.get(event.alarm_id).acknowledged_by is None
    h.feed(T.alarm_events("S1"), alarm_event("S1", 1, kind="advisory", tag=2))
    h.feed(T.alarm_state("S1", event.alarm_id), b"")
    assert h.core.active_alarm_count() == 0
    assert h.core.delivery.get(event.alarm_id) is None
    h.feed(T.session("S1"), b"")
    assert h.core.world.sessions == {}


def plan(h: Harness, client, text: str):
    message = decode_client(text)
    return h.core.plan(client, message, h.now)


def test_commands_plan_commit_and_reply():
    h = Harness(audio_pause_max_s=60.0)
    h.feed(T.session("S1"), descriptor("S1", ["dr-a"]))
    a = h.attach("dr-a")
    event = alarm_event("S1", 1)
    h.feed(T.alarm_events("S1"), event)
    h.drain(a)
    base = f'"session": "S1", "alarm_id": "{event.alarm_id}"'
    plans = {
        kind: plan(h, a, "{" + f'"type": "{kind}", "req": "{kind}", {base}{extra}' + "}")
        for kind, extra in (
            ("seen", ""),
            ("ack", ""),
            ("audio_pause", ', "duration_s": 600'),
            ("escalate", ', "note": "help"'),
            ("note", ', "text": "ok"'),
        )
    }
    assert all(isinstance(p, CommandPlan) for p in plans.values())
    assert plans["seen"].command is None
    assert [
        (p.command.action, p.command.duration_s, p.command.note)
        for k, p in plans.items()
        if k != "seen"
    ] == [
        ("acknowledge", None, None),
        ("audio_pause", 60.0, None),
        ("escalate", None, "help"),
        ("note", None, "ok"),
    ]
    audits = [r for p in plans.values() for r in h.core.commit(a, p, h.now, 0.0)]
    assert [(r.action, r.detail, r.note) for r in audits] == [
        ("seen", "", ""),
        ("acknowledge", "", ""),
        ("audio_pause", "duration 60 s", ""),
        ("escalate", "level 1: manual", ""),
        ("note", "", "help"),
        ("note", "", "ok"),
    ]
    replies = {m["req"]: m for m in h.drain(a) if m["type"] == "ok"}
    assert sorted(replies) == ["ack", "audio_pause", "escalate", "note", "seen"]
    assert replies["audio_pause"]["until"] == h.now + 60
    assert isinstance(plans["seen"].message, Seen)
    assert isinstance(plans["ack"].message, Acknowledge)
    assert isinstance(plans["audio_pause"].message, AudioPause)
    assert isinstance(plans["note"].message, Note)
    assert isinstance(plans["escalate"].message, Escalate)


def test_ticks_expire_tokens_flush_vitals_and_render_metrics():
    h = Harness()
    h.feed(T.session("S1"), descriptor("S1", ["dr-a"]))
    a = h.attach("dr-a")
    h.drain(a)
    h.feed(
        T.readings("S1"),
        {
            "v": 1,
            "gateway": "g",
            "session": "S1",
            "device": "ox-1",
            "kind": "pulse_oximeter",
            "readings": [{"seq": 1, "t": 999.0, "values": {"spo2": 97.0}}],
        },
    )
    h.core.tick(h.now, 0.0)
    assert [m["type"] for m in h.drain(a)] == ["vitals"]
    h.now += 3600
    h.core.tick(h.now, 0.5)
    assert h.kicks == {"dr-a": (4401, "token expired")}
    text = render(
        h.core.metrics,
        clients_by_role=h.core.clients_by_role(),
        queue_depths=h.core.queue_depths(),
        mqtt_connected=False,
        active_alarms=0,
    )
    assert 'vigil_hub_connected_clinicians{role="clinician"} 0' in text
    assert "vigil_hub_mqtt_messages_total 2" in text


@pytest.mark.parametrize("connected", [True, False])
def test_upstream_state_is_broadcast_once_per_change(connected):
    h = Harness()
    a = h.attach("dr-a")
    h.drain(a)
    h.core.set_upstream(connected, h.now, 0.0)
    h.core.set_upstream(connected, h.now, 0.0)
    expected = [{"type": "upstream", "mqtt": "connected", "t": h.now}] if connected else []
    assert h.drain(a) == expected


def test_pending_commands_are_matched_once_and_bounded():
    pending = PendingCommands("e", capacity=2)
    first = pending.add(PendingCommand(1, "dr-a", "ack", "k1"))
    second = pending.add(PendingCommand(1, "dr-a", "note", None))
    third = pending.add(PendingCommand(2, "dr-b", "escalate", "x"))
    assert (first, second, third) == ("e.1", "e.2", "e.3")
    assert len(pending) == 2
    assert pending.pop(first) is None  # evicted: the oldest goes first
    assert pending.pop(third) == PendingCommand(2, "dr-b", "escalate", "x")
    assert pending.pop(third) is None
    assert pending.pop(None) is None
    with pytest.raises(ValueError):
        PendingCommands("e", capacity=0)


def test_command_results_go_to_the_sender_else_to_that_accounts_visible_connections():
    h = Harness(client_queue_max=2)
    h.feed(T.session("S1"), descriptor("S1", ["dr-a", "dr-b"]))
    a, a2, b = h.attach("dr-a"), h.attach("dr-a"), h.attach("dr-b")
    event = alarm_event("S1", 1)
    h.feed(T.alarm_events("S1"), event)
    for client in (a, a2, b):
        h.drain(client)
    ack = plan(
        h, a, json.dumps({"type": "ack", "req": "k", "session": "S1", "alarm_id": event.alarm_id})
    )
    command = ack.command
    assert command.request_id == "e.1"
    answer = {"session": "S1", "alarm_id": event.alarm_id, "action": "acknowledge", "by": "dr-a"}
    answer["t"] = h.now
    accepted = CommandResult(**answer, accepted=True, request_id=command.request_id)
    assert h.feed(T.command_results("S1"), accepted) == []  # accepted: nothing to audit
    assert h.drain(a) == [
        {
            "type": "command_result",
            "req": "k",
            "command": "ack",
            "session": "S1",
            "alarm_id": event.alarm_id,
            "by": "dr-a",
            "accepted": True,
            "reason": None,
            "t": h.now,
        }
    ]
    assert (h.drain(a2), h.drain(b)) == ([], [])
    repeated = h.feed(T.command_results("S1"), accepted)  # matched already: by account now
    assert repeated == []
    assert [(m["req"], m["accepted"]) for m in h.drain(a)] == [(None, True)]
    assert [m["req"] for m in h.drain(a2)] == [None]
    assert h.drain(b) == []
    # A queue that is already full is not bypassed: the client is dropped as too slow.
    for _ in range(3):
        h.feed(T.command_results("S1"), CommandResult(**answer, accepted=False, reason="x"))
    assert h.kicks["dr-a"][0] == 4429
    assert h.core.metrics.command_results == {"accepted": 2, "rejected": 3}


@pytest.mark.parametrize(("engine_state", "rearmed"), [("active", True), ("acknowledged", False)])
def test_a_refused_acknowledgement_restarts_escalation_unless_the_engine_holds_it_acked(
    engine_state: str, rearmed: bool
):
    h = Harness()
    h.feed(T.session("S1"), descriptor("S1", ["dr-a"], profile="ketamine-home"))
    h.core._escalation_after = EscalationPolicy.with_bundled_profiles().after_s
    a = h.attach("dr-a")
    event = alarm_event("S1", 1)
    h.feed(T.alarm_events("S1"), event)
    state = alarm_state(event)
    h.feed(T.alarm_state("S1", event.alarm_id), msgspec.structs.replace(state, state=engine_state))
    text = json.dumps({"type": "ack", "req": "k", "session": "S1", "alarm_id": event.alarm_id})
    h.core.commit(a, plan(h, a, text), h.now, 0.0)
    assert h.core.delivery.get(event.alarm_id).escalate_at is None  # stopped when sent
    h.drain(a)
    h.now += 5
    refused = CommandResult(
        session="S1", alarm_id=event.alarm_id, action="acknowledge", by="dr-a", t=h.now,
        accepted=False, reason="already_resolved", request_id="e.1",
    )  # fmt: skip
    h.feed(T.command_results("S1"), refused)
    delivery = h.core.delivery.get(event.alarm_id)
    if rearmed:
        assert (delivery.acknowledged_by, delivery.escalate_at) == (None, h.now + 60.0)
        kinds = [m["type"] for m in h.drain(a)]
        assert kinds == ["command_result", "alarm_state"]
    else:
        assert delivery.escalate_at is None
