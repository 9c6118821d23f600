"""What the hub knows of the world: sessions, devices, gateways, active alarms, vitals. Pure.

Built from retained MQTT state and live events; the snapshot a client receives is a view of
it filtered to the sessions the client may see (`docs/websocket.md`, "snapshot").
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import msgspec

from alerts.hub.delivery import AlarmDelivery
from alerts.hub.vitals import VitalsBoard
from vigil.wire import AlarmEvent, AlarmState, DeviceStatus, GatewayStatus, SessionDescriptor

# Event kinds after which an alarm is no longer active, and one-off notices never active.
ENDING_KINDS = frozenset({"resolved"})
ONE_OFF_KINDS = frozenset({"advisory", "delivery_failure"})
ENDED_STATES = frozenset({"resolved", "cleared", "off"})

Json = dict[str, Any]

_NOBODY: frozenset[str] = frozenset()


def as_json(struct: msgspec.Struct) -> Json:
    return msgspec.to_builtins(struct)  # type: ignore[no-any-return]


class World:
    __slots__ = (
        "_clinicians",
        "_seen_events",
        "alarm_events",
        "alarms",
        "dedupe_capacity",
        "devices",
        "gateways",
        "sessions",
        "vitals",
    )

    def __init__(self, *, dedupe_capacity: int = 10_000) -> None:
        self.sessions: dict[str, SessionDescriptor] = {}  # changed by set/forget_session only
        self.devices: dict[str, DeviceStatus] = {}
        self.gateways: dict[str, GatewayStatus] = {}
        # alarm id -> (session, latest state or None while only events are known)
        self.alarms: dict[str, tuple[str, AlarmState | None]] = {}
        self.alarm_events: dict[str, AlarmEvent] = {}  # alarm id -> latest event
        self.vitals = VitalsBoard()
        self.dedupe_capacity = dedupe_capacity
        self._seen_events: OrderedDict[str, None] = OrderedDict()
        # Asked once per client for every event fanned out: built once per descriptor.
        self._clinicians: dict[str, frozenset[str]] = {}

    # ---------------------------------------------------------------- queries
    def clinicians(self, session: str) -> frozenset[str]:
        return self._clinicians.get(session, _NOBODY)

    def gateway_sessions(self, gateway: str) -> frozenset[str]:
        return frozenset(s.session for s in self.devices.values() if s.gateway == gateway)

    def alarm_session(self, alarm_id: str) -> str | None:
        entry = self.alarms.get(alarm_id)
        return entry[0] if entry else None

    def known_sessions(self) -> set[str]:
        known = set(self.sessions) | {session for session, _ in self.alarms.values()}
        return known | {status.session for status in self.devices.values()}

    # ---------------------------------------------------------------- updates
    def first_sight(self, event_id: str) -> bool:
        """False for a redelivered event (QoS 1 is at least once; ids are idempotency keys)."""
        if event_id in self._seen_events:
            return False
        self._seen_events[event_id] = None
        if len(self._seen_events) > self.dedupe_capacity:
            self._seen_events.popitem(last=False)
        return True

    def apply_event(self, event: AlarmEvent) -> bool:
        """Record the event; True if the alarm is active after it."""
        if event.kind in ONE_OFF_KINDS:
            return False
        if event.kind in ENDING_KINDS:
            self.alarms.pop(event.alarm_id, None)
            self.alarm_events.pop(event.alarm_id, None)
            return False
        self.alarm_events[event.alarm_id] = event
        if event.alarm_id not in self.alarms:
            self.alarms[event.alarm_id] = (event.session, None)
        return True

    def apply_state(self, session: str, alarm_id: str, state: AlarmState | None) -> bool:
        """Record the state; True if it changed anything (retained redeliveries do not)."""
        if state is None or state.state in ENDED_STATES:
            existed = alarm_id in self.alarms
            self.alarms.pop(alarm_id, None)
            self.alarm_events.pop(alarm_id, None)
            return existed
        current = self.alarms.get(alarm_id)
        if current is not None and current[1] == state:
            return False
        self.alarms[alarm_id] = (session, state)
        return True

    def set_session(self, session: str, descriptor: SessionDescriptor) -> None:
        self.sessions[session] = descriptor
        self._clinicians[session] = frozenset(descriptor.clinicians)

    def forget_session(self, session: str) -> None:
        self.sessions.pop(session, None)
        self._clinicians.pop(session, None)
        for alarm_id in [a for a, (s, _) in self.alarms.items() if s == session]:
            del self.alarms[alarm_id]
            self.alarm_events.pop(alarm_id, None)
        self.vitals.forget(session)

    # ---------------------------------------------------------------- views
    def session_view(self, session: str) -> Json:
        descriptor = self.sessions.get(session)
        contact = self.vitals.contact(session)
        devices = [
            {**as_json(status), "contact": contact.get(status.device)}
            for status in sorted(self.devices.values(), key=lambda s: s.device)
            if status.session == session
        ]
        gateways = sorted({status["gateway"] for status in devices})
        return {
            "session": session,
            "descriptor": as_json(descriptor) if descriptor else None,
            "devices": devices,
            "gateways": [as_json(self.gateways[g]) for g in gateways if g in self.gateways],
            "vitals": self.vitals_view(session),
            "history": {
                metric: [[sample.t, sample.value] for sample in samples]
                for metric, samples in self.vitals.history(session).items()
            },
        }

    def vitals_view(self, session: str) -> Json:
        return {
            metric: {"value": sample.value, "t": sample.t}
            for metric, sample in sorted(self.vitals.latest(session).items())
        }

    def alarm_view(self, alarm_id: str, delivery: AlarmDelivery | None) -> Json:
        session, state = self.alarms[alarm_id]
        event = self.alarm_events.get(alarm_id)
        return {
            "alarm_id": alarm_id,
            "session": session,
            "state": as_json(state) if state else None,
            "event": as_json(event) if event else None,
            "delivery": delivery_view(delivery),
        }


def delivery_view(delivery: AlarmDelivery | None) -> Json | None:
    if delivery is None:
        return None
    return {
        "level": delivery.level,
        "escalate_at": delivery.escalate_at,
        "acknowledged_by": delivery.acknowledged_by,
        "receipts": {
            user: {
                "delivered": receipt.delivered_t,
                "seen": receipt.seen_t,
                "acknowledged": receipt.acknowledged_t,
            }
            for user, receipt in delivery.receipts.items()
        },
    }
