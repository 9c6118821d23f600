"""Restart recovery: the retained alarm states and session descriptors, collected before the
first reading is evaluated, so a restart neither loses nor repeats an alarm.

A short-lived clean-session link subscribes to the retained alarm states and sessions and
collects until nothing has arrived for a quiet period; only then does the main (persistent)
link start, whose queued readings the broker sends at once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import msgspec

from monitor.mqtt_consumer import MqttLink
from vigil.mqtt_settings import MqttSettings
from vigil.wire import AlarmState, SessionDescriptor, Topics, shard_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Restored:
    states: list[AlarmState]
    sessions: list[SessionDescriptor]


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
    states: dict[str, AlarmState] = {}
    sessions: dict[str, SessionDescriptor] = {}
    state_decoder = msgspec.json.Decoder(AlarmState)
    session_decoder = msgspec.json.Decoder(SessionDescriptor)
    state_prefix = f"{topics.base}/alarms/"
    arrived = asyncio.Event()

    def handler(topic: str, payload: bytes, _retained: bool) -> None:
        arrived.set()
        if not payload:
            states.pop(topic, None)
            return
        try:
            if topic.startswith(state_prefix):
                state = state_decoder.decode(payload)
                if shard_of(state.session) in shards:
                    states[topic] = state
            else:
                session = session_decoder.decode(payload)
                if shard_of(session.session) in shards:
                    sessions[session.session] = session
        except msgspec.DecodeError as err:
            log.warning("ignoring an unreadable retained message on %s: %s", topic, err)

    link = MqttLink(
        settings,
        client_id=client_id,
        handler=handler,
        persistent=False,
        connect_timeout_s=connect_timeout_s,
    )
    async with link:
        await link.subscribe([topics.alarm_state("+", "+"), topics.session("+")])
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
    log.info("restored %d active alarms and %d sessions", len(states), len(sessions))
    return Restored(states=list(states.values()), sessions=list(sessions.values()))
