"""`vigil session start|end|list`: session descriptors, retained on the broker.

A session names a pseudonymous patient, the devices, the alarm profile, the clinicians
assigned and the dose time; the processor and the hub follow these retained messages.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from datetime import datetime

import aiomqtt
import msgspec

from vigil.errors import ConfigError
from vigil.mqtt_settings import MqttSettings
from vigil.wire import SessionDescriptor, Topics

QUIET_S = 0.5
TIMEOUT_S = 10.0
_RELATIVE = re.compile(r"^([+-])(\d+(?:\.\d+)?)([smh])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600}


def parse_time(text: str, now: float) -> float:
    """`now`, `+15m` / `-90s` / `+1h` relative to now, or an ISO 8601 time with a zone."""
    if text == "now":
        return now
    if match := _RELATIVE.match(text):
        sign = 1 if match.group(1) == "+" else -1
        return now + sign * float(match.group(2)) * _UNIT_S[match.group(3)]
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise ConfigError(f"not a time: {text!r} (use now, +15m, or ISO 8601 with a zone)") from err
    if when.tzinfo is None:
        raise ConfigError(f"{text!r} has no time zone: add Z or +01:00")
    return when.timestamp()


def parse_overrides(items: list[str]) -> dict[str, dict[str, float | bool | str]]:
    """`rule.param=value` items, e.g. `spo2_low.limit=88`."""
    out: dict[str, dict[str, float | bool | str]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        rule, dot, param = key.partition(".")
        if not (sep and dot and rule and param):
            raise ConfigError(f"override {item!r} must look like rule.param=value")
        value: float | bool | str
        if raw in ("true", "false"):
            value = raw == "true"
        else:
            try:
                value = float(raw)
            except ValueError:
                value = raw
        out.setdefault(rule, {})[param] = value
    return out


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mqtt", default=os.environ.get("VIGIL_MQTT_URL", "mqtt://127.0.0.1"))
    parser.add_argument("--root", default="vigil", help="topic root (default: %(default)s)")
    actions = parser.add_subparsers(dest="action", required=True)
    start = actions.add_parser("start", help="start (or update) a session")
    start.add_argument("session")
    start.add_argument("--patient", required=True, help="pseudonym, never a name")
    start.add_argument("--device", action="append", default=[], dest="devices")
    start.add_argument("--profile", default="ketamine-home")
    start.add_argument("--clinician", action="append", default=[], dest="clinicians")
    start.add_argument("--dose-time", default=None, help="now, +15m, or ISO 8601")
    start.add_argument("--override", action="append", default=[], metavar="RULE.PARAM=VALUE")
    end = actions.add_parser("end", help="end a session (kept, marked ended)")
    end.add_argument("session")
    actions.add_parser("list", help="list the sessions the broker holds")


async def _collect(mqtt: MqttSettings, topics: Topics) -> dict[str, SessionDescriptor]:
    found: dict[str, SessionDescriptor] = {}
    decoder = msgspec.json.Decoder(SessionDescriptor)
    async with aiomqtt.Client(
        mqtt.host, mqtt.port, username=mqtt.username, password=mqtt.password
    ) as client:
        await client.subscribe(topics.session("+"), qos=1)
        # Retained messages arrive at once after subscribing; a quiet gap means they are all here.
        while True:
            try:
                message = await asyncio.wait_for(anext(client.messages), QUIET_S)
            except TimeoutError:
                return found
            if isinstance(message.payload, bytes) and message.payload:
                descriptor = decoder.decode(message.payload)
                found[descriptor.session] = descriptor


async def publish_session(
    mqtt: MqttSettings, topics: Topics, descriptor: SessionDescriptor
) -> None:
    async with aiomqtt.Client(
        mqtt.host, mqtt.port, username=mqtt.username, password=mqtt.password
    ) as client:
        await client.publish(
            topics.session(descriptor.session),
            msgspec.json.encode(descriptor),
            qos=1,
            retain=True,
            timeout=TIMEOUT_S,
        )


def run(args: argparse.Namespace) -> int:
    mqtt = MqttSettings.from_url(args.mqtt, root=args.root)
    topics = Topics(args.root)
    now = time.time()
    try:
        if args.action == "list":
            sessions = asyncio.run(_collect(mqtt, topics))
            for descriptor in sorted(sessions.values(), key=lambda d: d.started):
                sys.stdout.write(msgspec.json.encode(descriptor).decode() + "\n")
            return 0
        if args.action == "end":
            existing = asyncio.run(_collect(mqtt, topics)).get(args.session)
            if existing is None:
                sys.stderr.write(f"no session {args.session}\n")
                return 1
            asyncio.run(publish_session(mqtt, topics, msgspec.structs.replace(existing, ended=now)))
            return 0
        descriptor = SessionDescriptor(
            session=args.session,
            patient=args.patient,
            devices=args.devices,
            profile=args.profile,
            clinicians=args.clinicians,
            started=now,
            dose_time=parse_time(args.dose_time, now) if args.dose_time else None,
            overrides=parse_overrides(args.override),
        )
        # Validate exactly as every consumer will before anything is published.
        msgspec.json.decode(msgspec.json.encode(descriptor), type=SessionDescriptor)
    except msgspec.ValidationError as err:
        raise ConfigError(f"invalid session: {err}") from err
    asyncio.run(publish_session(mqtt, topics, descriptor))
    sys.stdout.write(msgspec.json.encode(descriptor).decode() + "\n")
    return 0
