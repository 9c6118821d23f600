"""Restart recovery: the retained alarm states and session descriptors, collected before the
first reading is evaluated, so a restart neither loses nor repeats an alarm.

A short-lived clean-session link subscribes to the retained alarm states and sessions and
collects until nothing has arrived for a quiet period; only then does the main (persistent)
link start, whose queued readings the broker sends at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from monitor.mqtt_codec import Inbound
from monitor.mqtt_consumer import Handled, MqttLink
from vigil.mqtt_settings import MqttSettings
from vigil.wire import (
    AlarmState,
    SessionBaseline,
    SessionDescriptor,
    SessionPending,
    Topics,
    shard_of,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Restored:
    states: list[AlarmState]
    sessions: list[SessionDescriptor]
    baselines: list[SessionBaseline]
    pending: list[SessionPending]


class _Retained:
    """What the retained messages of our shards say, as they arrive."""

    def __init__(self, topics: Topics, shards: frozenset[int]) -> None:
        self._shards = shards
        self._state_prefix = f"{topics.base}/alarms/"
        self._sessions_prefix = f"{topics.base}/sessions/"
        self._states = msgspec.json.Decoder(AlarmState)
        self._sessions = msgspec.json.Decoder(SessionDescriptor)
        self._baselines = msgspec.json.Decoder(SessionBaseline)
        self._pending = msgspec.json.Decoder(SessionPending)
        # Each by topic: a later retained message, or an empty one, replaces it.
        self.states: dict[str, AlarmState] = {}
        self.sessions: dict[str, SessionDescriptor] = {}
        self.baselines: dict[str, SessionBaseline] = {}
        self.pending: dict[str, SessionPending] = {}
        self.arrived = asyncio.Event()

    def handle(self, messages: Sequence[Inbound]) -> Handled:
        self.arrived.set()
        for message in messages:
            self._keep(message.topic, message.payload)
        return Handled()

    def _store(self, topic: str) -> tuple[msgspec.json.Decoder[Any], dict[str, Any]]:
        if topic.startswith(self._state_prefix):
            return self._states, self.states
        # {base}/sessions/{session}[/baseline|/pending]: by level, since a session may be
        # called "pending"
        kind = topic.removeprefix(self._sessions_prefix).partition("/")[2]
        if kind == "pending":
            return self._pending, self.pending
        if kind == "baseline":
            return self._baselines, self.baselines
        return self._sessions, self.sessions

    def _keep(self, topic: str, payload: bytes) -> None:
        decoder, store = self._store(topic)
        if not payload:  # cleared while we collect
            store.pop(topic, None)
            return
        try:
            message = decoder.decode(payload)
        except msgspec.DecodeError as err:
            log.warning("ignoring an unreadable retained message on %s: %s", topic, err)
            return
        if shard_of(message.session) in self._shards:
            store[topic] = message


async def collect_retained(  # noqa: PLR0913 - connection facts and the two time bounds
    settings: MqttSettings,
    *,
    client_id: str,
    shards: frozenset[int],
    quiet_s: float,
    max_s: float,
    connect_timeout_s: float = 10.0,
) -> Restored:
    topics = Topics(settings.root)
    found = _Retained(topics, shards)
    arrived = found.arrived
    link = MqttLink(
        settings,
        client_id=client_id,
        handler=found.handle,
        persistent=False,
        connect_timeout_s=connect_timeout_s,
    )
    async with link:
        await link.subscribe(
            [
                topics.alarm_state("+", "+"),
                topics.session("+"),
                topics.session_baseline("+"),
                topics.session_pending("+"),
            ]
        )
        try:
            async with asyncio.timeout(max_s):
                while True:
                    arrived.clear()
                    try:
                        async with asyncio.timeout(quiet_s):
                            await arrived.wait()
                    except TimeoutError:
                        break
        except TimeoutError:
            log.warning("retained messages still arriving after %.0f s; starting anyway", max_s)
    states, sessions = list(found.states.values()), list(found.sessions.values())
    baselines, pending = list(found.baselines.values()), list(found.pending.values())
    log.info(
        "restored %d active alarms, %d sessions, %d dose baselines, %d sessions' running delays",
        len(states),
        len(sessions),
        len(baselines),
        len(pending),
    )
    return Restored(states=states, sessions=sessions, baselines=baselines, pending=pending)
