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

import msgspec

from monitor.mqtt_codec import Inbound
from monitor.mqtt_consumer import Handled, MqttLink
from vigil.mqtt_settings import MqttSettings
from vigil.wire import AlarmState, SessionBaseline, SessionDescriptor, Topics, shard_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Restored:
    states: list[AlarmState]
    sessions: list[SessionDescriptor]
    baselines: list[SessionBaseline]


class _Retained:
    """What the retained messages of our shards say, as they arrive."""

    def __init__(self, topics: Topics, shards: frozenset[int]) -> None:
        self._shards = shards
        self._state_prefix = f"{topics.base}/alarms/"
        self._states = msgspec.json.Decoder(AlarmState)
        self._sessions = msgspec.json.Decoder(SessionDescriptor)
        self._baselines = msgspec.json.Decoder(SessionBaseline)
        self.states: dict[str, AlarmState] = {}
        self.sessions: dict[str, SessionDescriptor] = {}
        self.baselines: dict[str, SessionBaseline] = {}
        self.arrived = asyncio.Event()

    def handle(self, messages: Sequence[Inbound]) -> Handled:
        self.arrived.set()
        for message in messages:
            self._keep(message.topic, message.payload)
        return Handled()

    def _keep(self, topic: str, payload: bytes) -> None:
        if not payload:
            self.states.pop(topic, None)
            return
        try:
            if topic.endswith("/baseline"):
                baseline = self._baselines.decode(payload)
                if shard_of(baseline.session) in self._shards:
                    self.baselines[baseline.session] = baseline
            elif topic.startswith(self._state_prefix):
                state = self._states.decode(payload)
                if shard_of(state.session) in self._shards:
                    self.states[topic] = state
            else:
                session = self._sessions.decode(payload)
                if shard_of(session.session) in self._shards:
                    self.sessions[session.session] = session
        except msgspec.DecodeError as err:
            log.warning("ignoring an unreadable retained message on %s: %s", topic, err)


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
            [topics.alarm_state("+", "+"), topics.session("+"), topics.session_baseline("+")]
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
    baselines = list(found.baselines.values())
    log.info(
        "restored %d active alarms, %d sessions, %d dose baselines",
        len(states),
        len(sessions),
        len(baselines),
    )
    return Restored(states=states, sessions=sessions, baselines=baselines)
