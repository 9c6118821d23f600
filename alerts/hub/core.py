"""The hub's sans-I/O core: MQTT inputs and client commands in, frames and audit records out.

Nothing here awaits. The edges (`alerts.hub.server`, `alerts.hub.mqtt`) feed it decoded
inputs with the current time (`now`, epoch seconds from the injected clock; `mono`, monotonic
seconds for latency metrics) and carry out what it returns: frames are put straight into each
client's `ClientQueue`; audit records and commands to publish are returned to the caller.

Every live event is encoded once and the same bytes go to every client allowed to see it
(`docs/websocket.md`). A clinician sees the sessions whose descriptor lists them; a supervisor
sees every session, and events that belong to no session (a supervisor's delivery failure).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import msgspec

from alerts.hub.audit import AuditRecord
from alerts.hub.delivery import DeliveryBook, Escalation, EscalationReason
from alerts.hub.inbound import (
    AlarmEventIn,
    AlarmStateIn,
    CommandResultIn,
    DeviceStatusIn,
    GatewayStatusIn,
    Inbound,
    ReadingsIn,
    SessionIn,
)
from alerts.hub.metrics import HubMetrics
from alerts.hub.outbox import ClientQueue, Outgoing
from alerts.hub.pending import PendingCommand, PendingCommands
from alerts.hub.protocol import (
    PROTOCOL_VERSION,
    Acknowledge,
    AlarmCommand,
    AudioPause,
    ErrorCode,
    Escalate,
    Note,
    Resume,
    Seen,
    error_reply,
    ok_reply,
    result_frame,
)
from alerts.hub.resume import EventLog, LoggedEvent
from alerts.hub.users import Role
from alerts.hub.world import Json, World, as_json, delivery_view
from vigil.wire import (
    AlarmEvent,
    AlarmState,
    Command,
    CommandResult,
    DeviceStatus,
    GatewayStatus,
    SessionDescriptor,
)

EscalationLookup = Callable[[SessionDescriptor | None, str], float | None]

_SUPERVISORS_ONLY: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class CoreSettings:
    resume_capacity: int = 10_000
    client_queue_max: int = 500
    vitals_interval_s: float = 1.0
    audio_pause_default_s: float = 120.0
    audio_pause_max_s: float = 300.0
    max_escalation_level: int = 3
    feed_size: int = 50  # recent events in a snapshot, so a reloaded page has a feed
    pending_commands: int = 1000  # forwarded commands remembered until the engine answers


class Client:
    """One authenticated connection, as the core sees it."""

    __slots__ = ("client_id", "expires_at", "kick", "queue", "role", "user")

    def __init__(  # noqa: PLR0913 - each is a separate fact about the connection
        self,
        *,
        client_id: int,
        user: str,
        role: Role,
        expires_at: float,
        queue: ClientQueue,
        kick: Callable[[int, str], None],
    ) -> None:
        self.client_id = client_id
        self.user = user
        self.role = role
        self.expires_at = expires_at
        self.queue = queue
        self.kick = kick  # close the connection with (code, reason); called at most once


@dataclass(frozen=True, slots=True)
class CommandPlan:
    """A validated command: publish `command` (if any) to the engine, then `HubCore.commit`."""

    message: AlarmCommand
    command: Command | None


class HubCore:
    def __init__(
        self,
        settings: CoreSettings,
        *,
        epoch: str,
        escalation_after: EscalationLookup,
        metrics: HubMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.world = World()
        self.log = EventLog(epoch, settings.resume_capacity)
        self.delivery = DeliveryBook(max_level=settings.max_escalation_level)
        self.pending = PendingCommands(epoch, settings.pending_commands)
        self.metrics = metrics or HubMetrics()
        self.upstream_connected = False
        self._escalation_after = escalation_after
        self._clients: dict[int, Client] = {}
        self._ids = itertools.count(1)
        self._last_vitals_flush: float | None = None
        self._kicked: list[Client] = []

    # ================================================================ clients
    @property
    def clients(self) -> list[Client]:
        return list(self._clients.values())

    def visible(self, client: Client, sessions: Iterable[str]) -> bool:
        if client.role == "supervisor":
            return True
        return any(client.user in self.world.clinicians(s) for s in sessions)

    def visible_sessions(self, client: Client) -> list[str]:
        known = self.world.known_sessions()
        if client.role == "supervisor":
            return sorted(known)
        return sorted(s for s in known if client.user in self.world.clinicians(s))

    def attach(  # noqa: PLR0913 - the facts of an authenticated hello
        self,
        *,
        user: str,
        role: Role,
        expires_at: float,
        resume: Resume | None,
        notify: Callable[[], None],
        kick: Callable[[int, str], None],
        now: float,
        mono: float,
    ) -> Client:
        """Register a client and queue its snapshot, or what it missed if it can resume."""
        queue = ClientQueue(self.settings.client_queue_max, notify)
        client = Client(
            client_id=next(self._ids),
            user=user,
            role=role,
            expires_at=expires_at,
            queue=queue,
            kick=kick,
        )
        missed = self.log.since(resume.epoch, resume.last_event_id) if resume else None
        if resume is not None and missed is not None:
            self._queue_resume(client, resume.last_event_id, missed, now, mono)
        else:
            self._queue_snapshot(client, now, mono)
        self._clients[client.client_id] = client
        return client

    def detach(self, client: Client) -> None:
        self._clients.pop(client.client_id, None)

    def sent(self, client: Client, item: Outgoing, now: float, mono: float) -> None:
        """The edge wrote `item` to the client's socket: a delivery receipt and a latency."""
        if item.alarm_id is not None:
            self.delivery.delivered(item.alarm_id, client.user, now)
        if item.is_event:
            self.metrics.delivery_latency.observe(mono - item.queued_at)
        elif item.session is not None:
            self.metrics.vitals_sent += 1

    def reply(self, client: Client, data: bytes, mono: float) -> None:
        client.queue.put(Outgoing(data, mono))

    def _queue_snapshot(self, client: Client, now: float, mono: float) -> None:
        sessions = self.visible_sessions(client)
        alarms = [
            self.world.alarm_view(alarm_id, self.delivery.get(alarm_id))
            for alarm_id, (session, _) in self.world.alarms.items()
            if self.visible(client, (session,))
        ]
        feed = [
            msgspec.Raw(event.data)
            for event in self.log.recent()
            if event.feed and self.visible(client, event.sessions)
        ][-self.settings.feed_size :]
        snapshot = {
            "type": "snapshot",
            "v": PROTOCOL_VERSION,
            "epoch": self.log.epoch,
            "last_event_id": self.log.last_id,
            "server_time": now,
            "user": client.user,
            "role": client.role,
            "expires_at": client.expires_at,
            "upstream": {"mqtt": self.upstream_connected},
            "sessions": [self.world.session_view(s) for s in sessions],
            "alarms": alarms,
            "feed": feed,
        }
        client.queue.put(Outgoing(msgspec.json.encode(snapshot), mono))

    def _queue_resume(
        self, client: Client, since: int, missed: list[LoggedEvent], now: float, mono: float
    ) -> None:
        visible = [event for event in missed if self.visible(client, event.sessions)]
        header = {
            "type": "resumed",
            "v": PROTOCOL_VERSION,
            "epoch": self.log.epoch,
            "from_event_id": since,
            "last_event_id": self.log.last_id,
            "count": len(visible),
            "server_time": now,
            "expires_at": client.expires_at,
            "upstream": {"mqtt": self.upstream_connected},
        }
        client.queue.put(Outgoing(msgspec.json.encode(header), mono))
        for event in visible:
            client.queue.put(Outgoing(event.data, mono, event.alarm_id, is_event=True))
        for session in self.visible_sessions(client):
            client.queue.put_vitals(session, Outgoing(self._vitals_frame(session), mono))

    # ================================================================ fan-out
    def _emit(
        self,
        sessions: frozenset[str],
        body: Json,
        mono: float,
        *,
        alarm_id: str | None = None,
        feed: bool = False,
    ) -> LoggedEvent:
        data = msgspec.json.encode({"type": body.pop("type"), "id": self.log.next_id(), **body})
        event = self.log.append(sessions, data, alarm_id, feed=feed)
        self.metrics.events += 1
        # The per-client part of the alarm path: one set lookup and one append each; the
        # encoded event (and its websocket frame) is the same object for every client.
        item = Outgoing(data, mono, alarm_id, is_event=True)
        audience = self._audience(sessions)
        for client in self._clients.values():
            if (client.role == "supervisor" or client.user in audience) and not client.queue.put(
                item
            ):
                self._kicked.append(client)
        return event

    def _audience(self, sessions: frozenset[str]) -> frozenset[str]:
        """The clinicians (besides every supervisor) who may see an event of `sessions`."""
        if len(sessions) == 1:
            return self.world.clinicians(next(iter(sessions)))
        return frozenset().union(*(self.world.clinicians(s) for s in sessions))

    def _broadcast_control(self, body: Json, mono: float) -> None:
        data = msgspec.json.encode(body)
        for client in self._clients.values():
            if not client.queue.put(Outgoing(data, mono)):
                self._kicked.append(client)

    def _settle(self, now: float, mono: float) -> list[AuditRecord]:
        """Disconnect clients that fell behind and tell the others (a technical alarm)."""
        audits: list[AuditRecord] = []
        while self._kicked:
            client = self._kicked.pop(0)
            if client.client_id not in self._clients:
                continue
            self.detach(client)
            self.metrics.slow_disconnects += 1
            client.kick(4429, "cannot keep up with alarm events; reconnect to resume")
            assigned = [s for s in self.world.sessions if client.user in self.world.clinicians(s)]
            targets: list[frozenset[str]] = [frozenset((s,)) for s in assigned]
            if client.role == "supervisor" or not assigned:
                targets.append(_SUPERVISORS_ONLY)
            for sessions in targets:
                session = next(iter(sessions), "")
                self._emit(
                    sessions,
                    {
                        "type": "delivery_failure",
                        "session": session or None,
                        "user": client.user,
                        "priority": "medium",
                        "reason": "client_too_slow",
                        "t": now,
                        "message": f"alarms could not be delivered to {client.user}: "
                        "the dashboard was disconnected for falling behind",
                    },
                    mono,
                    feed=True,
                )
                audits.append(
                    AuditRecord(
                        action="delivery_failure",
                        by=client.user,
                        t=now,
                        session=session,
                        detail="client_too_slow",
                    )
                )
        return audits

    # ================================================================ MQTT inputs
    def set_upstream(self, connected: bool, now: float, mono: float) -> None:
        if connected == self.upstream_connected:
            return
        self.upstream_connected = connected
        state = "connected" if connected else "disconnected"
        self._broadcast_control({"type": "upstream", "mqtt": state, "t": now}, mono)
        self._settle(now, mono)

    def on_inbound(self, item: Inbound, now: float, mono: float) -> list[AuditRecord]:
        self.metrics.mqtt_messages += 1
        audits: list[AuditRecord] = []
        match item:
            case ReadingsIn(batch):
                self.world.vitals.update(batch)
            case AlarmEventIn(event):
                audits += self._on_alarm_event(event, now, mono)
            case AlarmStateIn(session, alarm_id, state):
                self._on_alarm_state(session, alarm_id, state, now, mono)
            case DeviceStatusIn(device, status):
                self._on_device(device, status, mono)
            case GatewayStatusIn(gateway, status):
                self._on_gateway(gateway, status, mono)
            case SessionIn(session, descriptor):
                self._on_session(session, descriptor, now, mono)
            case CommandResultIn(result):
                audits += self._on_command_result(result, now, mono)
        return audits + self._settle(now, mono)

    def _on_device(self, device: str, status: DeviceStatus | None, mono: float) -> None:
        previous = self.world.devices.get(device)
        if previous == status:
            return
        if status is None:
            del self.world.devices[device]
        else:
            self.world.devices[device] = status
        session = (status or previous).session  # type: ignore[union-attr]
        body: Json = {"type": "device_status", "session": session, "device_id": device}
        body["device"] = as_json(status) if status else None
        self._emit(frozenset((session,)), body, mono)

    def _on_gateway(self, gateway: str, status: GatewayStatus | None, mono: float) -> None:
        if self.world.gateways.get(gateway) == status:
            return
        if status is None:
            del self.world.gateways[gateway]
        else:
            self.world.gateways[gateway] = status
        sessions = self.world.gateway_sessions(gateway)
        body: Json = {"type": "gateway_status", "sessions": sorted(sessions)}
        body |= {"gateway_id": gateway, "gateway": as_json(status) if status else None}
        self._emit(sessions, body, mono)

    def _on_alarm_event(self, event: AlarmEvent, now: float, mono: float) -> list[AuditRecord]:
        if not self.world.first_sight(event.event_id):
            return []
        active = self.world.apply_event(event)
        alarm_id = event.alarm_id
        if active:
            descriptor = self.world.sessions.get(event.session)
            after = self._escalation_after(descriptor, event.priority)
            self.delivery.track(alarm_id, event.session, event.priority, now, after)
        else:
            self.delivery.resolve(alarm_id)
        sessions = frozenset((event.session,))
        body: Json = {"type": "alarm_event", "session": event.session, "event": as_json(event)}
        self._emit(sessions, body, mono, alarm_id=alarm_id, feed=True)
        audits: list[AuditRecord] = []
        if event.kind == "acknowledged" and self.delivery.acknowledged(
            alarm_id, event.by or "engine", now
        ):
            by = event.by or "engine"
            self._receipt(event.session, alarm_id, user=by, what="acknowledged", now=now, mono=mono)
        elif event.kind == "ack_expired":
            self.delivery.rearm(alarm_id, now)
        elif event.kind == "escalated":
            escalation = self.delivery.escalate(alarm_id, now, EscalationReason.ENGINE)
            if escalation is not None:
                audits.append(self._escalated(escalation, mono))
        return audits

    def _on_alarm_state(
        self, session: str, alarm_id: str, state: AlarmState | None, now: float, mono: float
    ) -> None:
        if not self.world.apply_state(session, alarm_id, state):
            return
        if alarm_id in self.world.alarms and state is not None:
            descriptor = self.world.sessions.get(session)
            after = self._escalation_after(descriptor, state.priority)
            self.delivery.track(
                alarm_id, session, state.priority, now, after, acknowledged_by=state.acknowledged_by
            )
        else:
            self.delivery.resolve(alarm_id)
        body: Json = {"type": "alarm_state", "session": session, "alarm_id": alarm_id}
        body["state"] = (
            as_json(state) if state is not None and alarm_id in self.world.alarms else None
        )
        body["delivery"] = delivery_view(self.delivery.get(alarm_id))
        self._emit(frozenset((session,)), body, mono, alarm_id=alarm_id)

    def _on_session(
        self, session: str, descriptor: SessionDescriptor | None, now: float, mono: float
    ) -> None:
        previous = self.world.sessions.get(session)
        if previous == descriptor:
            return
        before = {c.client_id: self.visible(c, (session,)) for c in self._clients.values()}
        if descriptor is None:
            self.world.forget_session(session)
            self.delivery.forget_session(session)
        else:
            self.world.set_session(session, descriptor)
        after = {c.client_id: self.visible(c, (session,)) for c in self._clients.values()}
        body: Json = {"type": "session", "session": session}
        body["descriptor"] = as_json(descriptor) if descriptor else None
        # Those who lose the session are told so by this event; those who gain it need its
        # alarms and vitals too: they get a fresh snapshot, which includes this event's id.
        sessions = frozenset((session,))
        event = self._emit(sessions, body, mono)
        for client in list(self._clients.values()):
            gained = after[client.client_id] and not before[client.client_id]
            lost = before[client.client_id] and not after[client.client_id]
            if lost:
                client.queue.put(Outgoing(event.data, mono, is_event=True))
            if gained:
                self._queue_snapshot(client, now, mono)

    def _on_command_result(
        self, result: CommandResult, now: float, mono: float
    ) -> list[AuditRecord]:
        """The engine's verdict goes to the connection that sent the command if it is still
        here, else to every connection of that account that may see the session."""
        pending = self.pending.pop(result.request_id)
        origin = self._clients.get(pending.client_id) if pending else None
        if pending is not None and origin is not None:
            targets, req = [origin], pending.req
        else:
            user = pending.user if pending else result.by
            targets, req = [c for c in self._clients.values() if c.user == user], None
        item = Outgoing(result_frame(result, req), mono)
        for client in targets:
            if self.visible(client, (result.session,)) and not client.queue.put(item):
                self._kicked.append(client)
        outcome = "accepted" if result.accepted else "rejected"
        self.metrics.bump(self.metrics.command_results, outcome)
        if result.accepted:
            return []
        if result.action == "acknowledge":
            self._undo_acknowledge(result.session, result.alarm_id, now, mono)
        return [
            AuditRecord(
                action="command_rejected",
                by=result.by,
                t=now,
                session=result.session,
                alarm_id=result.alarm_id,
                detail=f"{result.action}: {result.reason or 'no reason given'}",
            )
        ]

    def _undo_acknowledge(self, session: str, alarm_id: str, now: float, mono: float) -> None:
        """The hub stopped the escalation timer when it forwarded the acknowledgement; the
        engine refused it, so the alarm must escalate again unless the engine holds it
        acknowledged (by someone else)."""
        _, state = self.world.alarms.get(alarm_id, (session, None))
        delivery = self.delivery.get(alarm_id)
        if delivery is None or (state is not None and state.state == "acknowledged"):
            return
        self.delivery.rearm(alarm_id, now)
        body: Json = {"type": "alarm_state", "session": session, "alarm_id": alarm_id}
        body["state"] = as_json(state) if state is not None else None
        body["delivery"] = delivery_view(delivery)
        self._emit(frozenset((session,)), body, mono, alarm_id=alarm_id)

    # ================================================================ time
    def tick(self, now: float, mono: float) -> list[AuditRecord]:
        """Fire escalations that are due, expire tokens, flush vitals once per interval."""
        audits = [self._escalated(e, mono) for e in self.delivery.due(now)]
        for client in list(self._clients.values()):
            if now >= client.expires_at:
                self.detach(client)
                client.kick(4401, "token expired")
        last = self._last_vitals_flush
        if last is None or mono - last >= self.settings.vitals_interval_s:
            self._last_vitals_flush = mono
            self._flush_vitals(mono)
        return audits + self._settle(now, mono)

    def _vitals_frame(self, session: str) -> bytes:
        return msgspec.json.encode(
            {
                "type": "vitals",
                "session": session,
                "values": self.world.vitals_view(session),
                "contact": self.world.vitals.contact(session),
            }
        )

    def _flush_vitals(self, mono: float) -> None:
        for session in self.world.vitals.flush():
            data = self._vitals_frame(session)
            for client in self._clients.values():
                if self.visible(client, (session,)):
                    before = client.queue.vitals_dropped
                    client.queue.put_vitals(session, Outgoing(data, mono, session=session))
                    self.metrics.vitals_coalesced += client.queue.vitals_dropped - before

    def _escalated(self, escalation: Escalation, mono: float) -> AuditRecord:
        self.metrics.escalations += 1
        after = escalation.after_s
        why = (
            f"not acknowledged within {after:g} s"
            if escalation.reason is EscalationReason.TIMEOUT and after is not None
            else f"escalated ({escalation.reason})"
        )
        if escalation.by is not None:
            why = f"escalated by {escalation.by}"
        self._emit(
            frozenset((escalation.session,)),
            {
                "type": "escalation",
                "session": escalation.session,
                "alarm_id": escalation.alarm_id,
                "priority": escalation.priority,
                "level": escalation.level,
                "reason": escalation.reason,
                "by": escalation.by,
                "after_s": after,
                "t": escalation.t,
                "message": f"session {escalation.session}: {escalation.priority} alarm {why}; "
                f"backup clinicians and supervisors alerted (level {escalation.level})",
            },
            mono,
            alarm_id=escalation.alarm_id,
            feed=True,
        )
        return AuditRecord(
            action="escalate",
            by=escalation.by or "hub",
            t=escalation.t,
            session=escalation.session,
            alarm_id=escalation.alarm_id,
            detail=f"level {escalation.level}: {escalation.reason}",
        )

    def _receipt(  # noqa: PLR0913 - each is a separate fact of the receipt
        self, session: str, alarm_id: str, *, user: str, what: str, now: float, mono: float
    ) -> None:
        body: Json = {"type": "receipt", "session": session, "alarm_id": alarm_id}
        body |= {"user": user, "receipt": what, "t": now}
        body["delivery"] = delivery_view(self.delivery.get(alarm_id))
        self._emit(frozenset((session,)), body, mono)

    # ================================================================ commands
    def plan(self, client: Client, message: AlarmCommand, now: float) -> CommandPlan | bytes:
        """Validate a command: a plan to carry out, or the encoded error reply."""
        if not self.visible(client, (message.session,)):
            error = ErrorCode.NOT_AUTHORISED
            text = f"session {message.session} is not assigned to you"
        elif self.world.alarm_session(message.alarm_id) != message.session:
            error = ErrorCode.UNKNOWN_ALARM
            text = f"no active alarm {message.alarm_id} in session {message.session}"
        else:
            return CommandPlan(message, self._command(client, message, now))
        self.metrics.bump(self.metrics.command_errors, error)
        return error_reply(error, text, message.req)

    def _command(self, client: Client, message: AlarmCommand, now: float) -> Command | None:
        session, alarm_id, by = message.session, message.alarm_id, client.user
        match message:
            case Acknowledge():
                action, duration, note = "acknowledge", None, None
            case AudioPause(duration_s=requested):
                action, duration, note = "audio_pause", self._pause_s(requested), None
            case Escalate(note=text):
                action, duration, note = "escalate", None, text
            case Note(text=text):
                action, duration, note = "note", None, text
            case _:
                return None  # seen: the hub's own receipt, nothing for the engine
        name = str(message.__struct_config__.tag)
        request_id = self.pending.add(PendingCommand(client.client_id, by, name, message.req))
        return Command(
            session=session,
            alarm_id=alarm_id,
            action=action,  # type: ignore[arg-type]
            by=by,
            t=now,
            duration_s=duration,
            note=note,
            request_id=request_id,
        )

    def _pause_s(self, requested: float | None) -> float:
        if requested is None:
            return self.settings.audio_pause_default_s
        return min(requested, self.settings.audio_pause_max_s)

    def commit(
        self, client: Client, plan: CommandPlan, now: float, mono: float
    ) -> list[AuditRecord]:
        """The command reached the engine (or needs not): record it, tell everyone, reply ok."""
        message, user = plan.message, client.user
        session, alarm_id = message.session, message.alarm_id
        name = str(message.__struct_config__.tag)
        self.metrics.bump(self.metrics.commands, name)
        extra: Json = {"alarm_id": alarm_id}
        match message:
            case Seen():
                if self.delivery.seen(alarm_id, user, now):
                    self._receipt(session, alarm_id, user=user, what="seen", now=now, mono=mono)
                audits = [
                    AuditRecord(action="seen", by=user, t=now, session=session, alarm_id=alarm_id)
                ]
            case Acknowledge():
                self.delivery.acknowledged(alarm_id, user, now)
                self._receipt(session, alarm_id, user=user, what="acknowledged", now=now, mono=mono)
                audits = [
                    AuditRecord(
                        action="acknowledge", by=user, t=now, session=session, alarm_id=alarm_id
                    )
                ]
            case AudioPause():
                duration = plan.command.duration_s if plan.command else None
                extra |= {"duration_s": duration, "until": now + (duration or 0.0)}
                body: Json = {"type": "audio_pause", "session": session, "by": user, "t": now}
                self._emit(frozenset((session,)), body | extra, mono, feed=True)
                audits = [
                    AuditRecord(
                        action="audio_pause",
                        by=user,
                        t=now,
                        session=session,
                        alarm_id=alarm_id,
                        detail=f"duration {duration or 0.0:g} s",
                    )
                ]
            case Escalate(note=note):
                escalation = self.delivery.escalate(alarm_id, now, EscalationReason.MANUAL, user)
                audits = [self._escalated(escalation, mono)] if escalation else []
                if note:
                    audits.append(
                        AuditRecord(
                            action="note",
                            by=user,
                            t=now,
                            session=session,
                            alarm_id=alarm_id,
                            note=note,
                        )
                    )
            case Note(text=text):
                note_body: Json = {"type": "note", "session": session, "alarm_id": alarm_id}
                note_body |= {"by": user, "text": text, "t": now}
                self._emit(frozenset((session,)), note_body, mono, feed=True)
                audits = [
                    AuditRecord(
                        action="note", by=user, t=now, session=session, alarm_id=alarm_id, note=text
                    )
                ]
        self.reply(client, ok_reply(name, message.req, **extra), mono)
        return audits + self._settle(now, mono)

    # ================================================================ views for the edges
    def active_alarm_count(self) -> int:
        return len(self.world.alarms)

    def clients_by_role(self) -> dict[str, int]:
        out: dict[str, int] = {"clinician": 0, "supervisor": 0}
        for client in self._clients.values():
            out[client.role] += 1
        return out

    def queue_depths(self) -> list[int]:
        return [client.queue.depth for client in self._clients.values()]
