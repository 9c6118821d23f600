"""Helpers for the hub's tests: a hub on a real broker, websocket clients, an MQTT publisher."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import msgspec
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from alerts.hub.app import run_hub
from alerts.hub.audit import AuditRecord
from alerts.hub.core import CoreSettings
from alerts.hub.passwords import hash_password
from alerts.hub.settings import HubSettings
from alerts.hub.users import Account, UserDirectory, save_users
from vigil.mqtt_settings import MqttSettings
from vigil.services.endpoints import MqttEndpoint
from vigil.wire import AlarmEvent, AlarmState, Command, CommandResult, SessionDescriptor, Topics

SECRET = b"0123456789abcdef0123456789abcdef-test-secret"
PASSWORD = "correct horse battery staple"
# Cheap scrypt parameters: the tests log in dozens of times.
USERS = {"dr-a": "clinician", "dr-b": "clinician", "sup-1": "supervisor"}


class FakeClock:
    def __init__(self, start: float | None = None) -> None:
        self.t = time.time() if start is None else start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class MemoryAudit:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def record(self, records: Any) -> None:
        self.records.extend(records)


def write_users(path: Path) -> Path:
    directory = UserDirectory()
    for name, role in USERS.items():
        directory = directory.with_account(
            Account(name=name, role=role, password_hash=hash_password(PASSWORD, n=2**8))  # type: ignore[arg-type]
        )
    save_users(path, directory)
    return path


def hub_settings(
    mosquitto: MqttEndpoint, root: str, tmp_path: Path, **overrides: Any
) -> HubSettings:
    core = overrides.pop("core", CoreSettings())
    settings = HubSettings(
        mqtt=MqttSettings(host=mosquitto.host, port=mosquitto.port, root=root),
        influx=None,
        users_file=write_users(tmp_path / "users.toml"),
        token_secret=SECRET,
        port=0,
        client_id=f"{root}-hub",
        tick_s=0.05,
        core=core,
    )
    return dataclasses.replace(settings, **overrides)


@dataclasses.dataclass
class RunningHub:
    port: int
    clock: FakeClock
    audit: MemoryAudit
    settings: HubSettings

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def running_hub(
    settings: HubSettings, clock: FakeClock | None = None
) -> AsyncIterator[RunningHub]:
    clock = clock or FakeClock()
    audit = MemoryAudit()
    ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        run_hub(settings, clock=clock, audit=audit, on_ready=ready.set_result)
    )
    try:
        port = await asyncio.wait_for(asyncio.shield(ready), 10)
        hub = RunningHub(port, clock, audit, settings)
        await wait_healthy(hub)
        yield hub
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def wait_healthy(hub: RunningHub, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _ = await http_get(hub.port, "/health")
        if status == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("hub never became healthy")


async def http_get(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode())
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


class Dashboard:
    """A websocket client speaking the hub protocol, as the dashboard does."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def recv(self, timeout: float = 5) -> dict[str, Any]:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.received.append(message)
        return message

    async def until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            message = await self.recv(max(0.01, deadline - time.monotonic()))
            if predicate(message):
                return message

    async def request(self, message: dict[str, Any], timeout: float = 5) -> dict[str, Any]:
        await self.send(message)
        req = message.get("req")
        return await self.until(
            lambda m: m["type"] in ("ok", "error") and m.get("req") == req, timeout
        )

    async def quiet(self, seconds: float) -> list[dict[str, Any]]:
        """Everything received within `seconds`."""
        out = []
        with contextlib.suppress(TimeoutError):
            while True:
                out.append(await self.recv(seconds))
        return out


async def login(url: str, user: str, password: str = PASSWORD) -> str:
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "login", "user": user, "password": password, "req": "l"}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert reply["type"] == "token", reply
    return reply["token"]


@contextlib.asynccontextmanager
async def dashboard(
    hub: RunningHub,
    user: str,
    *,
    resume: dict[str, Any] | None = None,
    token: str | None = None,
    **connect: Any,
) -> AsyncIterator[tuple[Dashboard, dict[str, Any]]]:
    token = token or await login(hub.url, user)
    async with websockets.connect(hub.url, **connect) as ws:
        client = Dashboard(ws)
        hello: dict[str, Any] = {"type": "hello", "v": 1, "token": token}
        if resume is not None:
            hello["resume"] = resume
        await client.send(hello)
        first = await client.recv()
        yield client, first


def descriptor(session: str, clinicians: list[str], **extra: Any) -> SessionDescriptor:
    fields = {
        "session": session,
        "patient": f"P-{session}",
        "devices": ["ox-1"],
        "profile": "test-profile",
        "clinicians": clinicians,
        "started": time.time() - 600,
        "dose_time": time.time() - 300,
    }
    return SessionDescriptor(**(fields | extra))


def alarm_event(
    session: str, n: int, *, kind: str = "raised", priority: str = "high", **extra: Any
) -> AlarmEvent:
    rule = extra.pop("rule", "spo2_low")
    alarm_id = f"{session}:{rule}:{n}"
    fields = {
        "event_id": f"{alarm_id}:{kind}:{extra.pop('tag', 0)}",
        "session": session,
        "alarm_id": alarm_id,
        "kind": kind,
        "priority": priority,
        "rule": rule,
        "message": f"session {session}: spo2_low (spo2 < 90 for 15 s): alarm; value 87",
        "t": time.time(),
        "onset": time.time() - 15,
        "metric": "spo2",
        "value": 87.0,
        "threshold": 90.0,
    }
    return AlarmEvent(**(fields | extra))


def alarm_state(event: AlarmEvent, state: str = "active", **extra: Any) -> AlarmState:
    return AlarmState(
        session=event.session,
        alarm_id=event.alarm_id,
        rule=event.rule,
        priority=event.priority,
        state=state,
        message=event.message,
        onset=event.onset or event.t,
        t=event.t,
        **extra,
    )


class Upstream:
    """The processor's side of the broker: publishes what the engine would."""

    def __init__(self, client: aiomqtt.Client, root: str) -> None:
        self.client = client
        self.topics = Topics(root)

    async def session(self, desc: SessionDescriptor) -> None:
        await self.client.publish(
            self.topics.session(desc.session), msgspec.json.encode(desc), qos=1, retain=True
        )

    async def alarm(self, event: AlarmEvent, state: AlarmState | None = None) -> None:
        await self.client.publish(
            self.topics.alarm_events(event.session), msgspec.json.encode(event), qos=1
        )
        if state is not None:
            await self.client.publish(
                self.topics.alarm_state(event.session, event.alarm_id),
                msgspec.json.encode(state),
                qos=1,
                retain=True,
            )

    async def clear(self, session: str, alarm_id: str) -> None:
        await self.client.publish(
            self.topics.alarm_state(session, alarm_id), b"", qos=1, retain=True
        )

    async def raw(self, topic: str, payload: bytes, retain: bool = False) -> None:
        await self.client.publish(topic, payload, qos=1, retain=retain)

    async def command_result(self, result: CommandResult) -> None:
        await self.client.publish(
            self.topics.command_results(result.session), msgspec.json.encode(result), qos=1
        )


@contextlib.asynccontextmanager
async def upstream(
    mosquitto: MqttEndpoint, root: str, name: str = "upstream"
) -> AsyncIterator[Upstream]:
    async with aiomqtt.Client(
        mosquitto.host, mosquitto.port, identifier=f"{root}-{name}"
    ) as client:
        yield Upstream(client, root)


@contextlib.asynccontextmanager
async def hub_with_upstream(
    mosquitto: MqttEndpoint, root: str, tmp_path: Path, **overrides: Any
) -> AsyncIterator[tuple[RunningHub, Upstream]]:
    """The usual setup: a hub on the broker and the processor's side of it."""
    async with (
        upstream(mosquitto, root) as up,
        running_hub(hub_settings(mosquitto, root, tmp_path, **overrides)) as hub,
    ):
        yield hub, up


class Engine(Upstream):
    """The engine's side of commands: takes what the hub publishes, answers with results."""

    async def command(self, timeout: float = 5) -> tuple[str, Command]:
        """The next command and the topic it came on."""
        message = await asyncio.wait_for(anext(self.client.messages), timeout)
        return str(message.topic), msgspec.json.decode(message.payload, type=Command)

    async def answer(self, command: Command, *, accepted: bool, reason: str | None = None) -> None:
        fields = msgspec.structs.asdict(command)
        for unanswered in ("duration_s", "note"):
            del fields[unanswered]
        await self.command_result(CommandResult(**fields, accepted=accepted, reason=reason))


@contextlib.asynccontextmanager
async def engine(mosquitto: MqttEndpoint, root: str) -> AsyncIterator[Engine]:
    """An `Engine` subscribed to the hub's commands before it yields."""
    async with upstream(mosquitto, root, "engine") as up:
        engine = Engine(up.client, root)
        await engine.client.subscribe(f"{engine.topics.base}/commands/+", qos=1)
        yield engine


async def drain_forever(ws: ClientConnection) -> None:
    while True:
        await asyncio.wait_for(ws.recv(), 5)


async def read_until_closed(ws: ClientConnection) -> None:
    """Read until the hub closes the connection; fails if 5 s pass without a frame or a close."""
    with pytest.raises(websockets.ConnectionClosed):
        await drain_forever(ws)
