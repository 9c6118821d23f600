"""The websocket edge: origin check, login/hello, then a reader and a writer per connection.

One `ServerConnection` per dashboard. The reader decodes client messages and hands them to the
core (commands for the engine are published first, then committed); the connection's `Outlet`
(`alerts.hub.outlet`) carries the client's `ClientQueue` onto the socket, oldest first, and
reports each written frame back to the core (delivery receipts, latency). When the core gives
up on a client (too slow, token expired) it calls `kick`, and the connection is closed with the
documented code.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from alerts.hub.audit import AuditRecord, AuditSink
from alerts.hub.core import Client, CommandPlan, HubCore
from alerts.hub.errors import TokenError, UpstreamUnavailableError, UsersFileError
from alerts.hub.http import HttpRoutes
from alerts.hub.mqtt import MqttLink
from alerts.hub.outlet import FlushScheduler, Outlet
from alerts.hub.passwords import verify_password
from alerts.hub.protocol import (
    PROTOCOL_VERSION,
    AlarmCommand,
    CloseCode,
    ErrorCode,
    Hello,
    Login,
    ProtocolViolation,
    Refresh,
    decode_client,
    error_reply,
)
from alerts.hub.tokens import TokenSigner
from alerts.hub.users import Account, UserDirectory, load_users

log = logging.getLogger(__name__)

# A failed login costs the guesser this much on top of the scrypt check.
_LOGIN_FAILURE_DELAY_S = 0.5

Clock = Callable[[], float]


def mask_user(name: str) -> str:
    """Account names may be real names: logs carry a short stable hash instead."""
    return "user#" + hashlib.sha256(name.encode()).hexdigest()[:8]


class UsersStore:
    """The accounts file, re-read when it changes (so `vigil hub user add` needs no restart)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._mtime: float | None = None
        self._directory = UserDirectory()

    async def current(self) -> UserDirectory:
        def reload() -> None:
            try:
                mtime = self._path.stat().st_mtime
            except FileNotFoundError:
                mtime = -1.0
            if mtime != self._mtime:
                self._directory = load_users(self._path)
                self._mtime = mtime

        try:
            await asyncio.to_thread(reload)
        except UsersFileError:
            log.exception("accounts file %s is invalid; keeping the last valid one", self._path)
        return self._directory


class Refused(Exception):  # noqa: N818 - a control-flow signal inside this module, not an error
    def __init__(self, code: CloseCode, reason: str, *, delay_s: float = 0.0) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.delay_s = delay_s  # wait before closing (outside the authentication timeout)


@dataclass(frozen=True, slots=True)
class Authenticated:
    account: Account
    expires_at: float
    hello: Hello


def origin_allowed(
    origin: str | None, host: str | None, allowed: tuple[str, ...], tls: bool
) -> bool:
    """Browsers always send Origin: it must be the hub's own or a configured one. Native
    clients send none; they cannot be driven by another site, and the token still applies."""
    if origin is None:
        return True
    own = f"{'https' if tls else 'http'}://{host}" if host else None
    return origin == own or origin.rstrip("/") in allowed


class HubServer:
    def __init__(  # noqa: PLR0913 - the hub's parts, wired once at start
        self,
        *,
        core: HubCore,
        users: UsersStore,
        signer: TokenSigner,
        mqtt: MqttLink,
        audit: AuditSink,
        routes: HttpRoutes,
        clock: Clock,
        allowed_origins: tuple[str, ...],
        tls: bool,
        auth_timeout_s: float,
        close_timeout_s: float,
        send_buffer_bytes: int | None = None,
    ) -> None:
        self.core = core
        self.users = users
        self.signer = signer
        self.mqtt = mqtt
        self.audit = audit
        self.routes = routes
        self.clock = clock
        self.allowed_origins = allowed_origins
        self.tls = tls
        self.auth_timeout_s = auth_timeout_s
        self.close_timeout_s = close_timeout_s
        self.send_buffer_bytes = send_buffer_bytes
        self._connections = 0
        self._scheduler: FlushScheduler | None = None  # made in the serving loop

    def process_request(self, _connection: ServerConnection, request: Request) -> Response | None:
        return self.routes.respond(request)

    def _fail(self, reason: str) -> None:
        self.core.metrics.bump(self.core.metrics.auth_failures, reason)

    async def _close(self, ws: ServerConnection, code: int, reason: str) -> None:
        try:
            await asyncio.wait_for(ws.close(code, reason), self.close_timeout_s)
        except TimeoutError:
            ws.transport.abort()  # the client stopped reading; nothing more can reach it

    # ---------------------------------------------------------------- connection
    async def handle(self, ws: ServerConnection) -> None:
        self._connections += 1
        conn = f"conn#{self._connections}"
        sock = ws.transport.get_extra_info("socket")
        if sock is not None:
            # asyncio already sets TCP_NODELAY; it is set again so the alarm path never
            # depends on that default.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.send_buffer_bytes is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer_bytes)
        headers = ws.request.headers if ws.request else None
        origin = headers.get("Origin") if headers else None
        host = headers.get("Host") if headers else None
        if not origin_allowed(origin, host, self.allowed_origins, self.tls):
            self._fail("origin")
            log.warning("%s: refused origin %s", conn, origin)
            await self._close(ws, CloseCode.FORBIDDEN, "origin not allowed")
            return
        try:
            async with asyncio.timeout(self.auth_timeout_s):
                authenticated = await self._authenticate(ws, conn)
        except TimeoutError:
            self._fail("timeout")
            await self._close(ws, CloseCode.AUTH_TIMEOUT, "authentication timeout: send hello")
            return
        except Refused as refused:
            await asyncio.sleep(refused.delay_s)
            await self._close(ws, refused.code, refused.reason)
            return
        except ConnectionClosed:
            return
        await self._serve(ws, conn, authenticated)

    async def _authenticate(self, ws: ServerConnection, conn: str) -> Authenticated:
        """Login messages (any number) then one hello; returns the authenticated account."""
        while True:
            raw = await ws.recv()
            message = decode_client(raw)
            match message:
                case Login(user=user, password=password, req=req):
                    await self._login(ws, conn, user, password, req)
                case Hello():
                    return await self._hello(conn, message)
                case ProtocolViolation():
                    self._fail("malformed")
                    raise Refused(CloseCode.PROTOCOL, f"{message.code}: {message.message}"[:120])
                case _:
                    self._fail("unauthenticated")
                    raise Refused(CloseCode.UNAUTHENTICATED, "authenticate first: send hello")

    async def _login(
        self, ws: ServerConnection, conn: str, user: str, password: str, req: str | None
    ) -> None:
        account = (await self.users.current()).get(user)
        stored = account.password_hash if account else None
        if not await asyncio.to_thread(verify_password, password, stored) or account is None:
            self._fail("credentials")
            log.warning("%s: login refused for %s", conn, mask_user(user))
            raise Refused(
                CloseCode.UNAUTHENTICATED, "invalid credentials", delay_s=_LOGIN_FAILURE_DELAY_S
            )
        now = self.clock()
        token, claims = self.signer.issue(account.name, now)
        log.info("%s: login of %s (%s)", conn, mask_user(account.name), account.role)
        self.audit.record([AuditRecord(action="login", by=account.name, t=now)])
        await ws.send(self._token_frame(token, account, claims.expires_at, req), text=True)

    @staticmethod
    def _token_frame(token: str, account: Account, expires_at: float, req: str | None) -> bytes:
        return msgspec.json.encode(
            {
                "type": "token",
                "req": req,
                "token": token,
                "user": account.name,
                "role": account.role,
                "expires_at": expires_at,
            }
        )

    async def _hello(self, conn: str, hello: Hello) -> Authenticated:
        if hello.v != PROTOCOL_VERSION:
            self._fail("version")
            raise Refused(CloseCode.PROTOCOL, f"unsupported protocol version {hello.v}; use 1")
        try:
            claims = self.signer.verify(hello.token, self.clock())
        except TokenError as err:
            self._fail(err.reason.replace(" ", "_"))
            log.warning("%s: hello refused: %s", conn, err.reason)
            raise Refused(CloseCode.UNAUTHENTICATED, err.reason) from err
        account = (await self.users.current()).get(claims.user)
        if account is None:
            self._fail("no_account")
            raise Refused(CloseCode.UNAUTHENTICATED, "account no longer exists")
        return Authenticated(account, claims.expires_at, hello)

    async def _serve(self, ws: ServerConnection, conn: str, auth: Authenticated) -> None:
        kicked: list[tuple[int, str]] = []
        kick_event = asyncio.Event()

        def kick(code: int, reason: str) -> None:
            kicked.append((code, reason))
            kick_event.set()

        outlet = Outlet(ws, self.core, self.clock, self._flusher())
        client = self.core.attach(
            user=auth.account.name,
            role=auth.account.role,
            expires_at=auth.expires_at,
            resume=auth.hello.resume,
            notify=outlet.notify,
            kick=kick,
            now=self.clock(),
            mono=time.monotonic(),
        )
        outlet.client = client
        resumed = "resumed" if auth.hello.resume else "snapshot"
        log.info("%s: %s connected (%s, %s)", conn, mask_user(client.user), client.role, resumed)
        tasks: list[asyncio.Task[None]] = []

        def finish(_: asyncio.Task[None]) -> None:
            for task in tasks:
                task.cancel()

        try:
            async with asyncio.TaskGroup() as group:
                for coro in (
                    self._reader(ws, client),
                    outlet.run(),
                    self._kicker(ws, kick_event, kicked),
                ):
                    task = group.create_task(coro)
                    task.add_done_callback(finish)
                    tasks.append(task)
        finally:
            self.core.detach(client)
            why = f"kicked {kicked[0][0]}" if kicked else f"closed {ws.close_code}"
            log.info("%s: %s disconnected (%s)", conn, mask_user(client.user), why)

    def _flusher(self) -> FlushScheduler:
        if self._scheduler is None:
            self._scheduler = FlushScheduler(asyncio.get_running_loop())
        return self._scheduler

    async def _kicker(
        self, ws: ServerConnection, kick_event: asyncio.Event, kicked: list[tuple[int, str]]
    ) -> None:
        await kick_event.wait()
        code, reason = kicked[0]
        await self._close(ws, code, reason)

    async def _reader(self, ws: ServerConnection, client: Client) -> None:
        try:
            async for raw in ws:
                await self._on_message(client, raw)
        except ConnectionClosed:
            return

    async def _on_message(self, client: Client, raw: str | bytes) -> None:
        message = decode_client(raw)
        now, mono = self.clock(), time.monotonic()
        match message:
            case ProtocolViolation(code=code, message=text, req=req):
                self.core.metrics.bump(self.core.metrics.command_errors, code)
                self.core.reply(client, error_reply(code, text, req), mono)
            case Login() | Hello():
                self.core.metrics.bump(self.core.metrics.command_errors, ErrorCode.BAD_STATE)
                text = "already authenticated; reconnect to change account"
                self.core.reply(client, error_reply(ErrorCode.BAD_STATE, text, message.req), mono)
            case Refresh(req=req):
                account = (await self.users.current()).get(client.user)
                if account is None:
                    client.kick(CloseCode.UNAUTHENTICATED, "account no longer exists")
                    return
                token, claims = self.signer.issue(client.user, now)
                client.expires_at = claims.expires_at
                self.core.reply(
                    client, self._token_frame(token, account, claims.expires_at, req), mono
                )
            case _:
                await self._command(client, message, now)

    async def _command(self, client: Client, message: AlarmCommand, now: float) -> None:
        plan = self.core.plan(client, message, now)
        if isinstance(plan, bytes):
            self.core.reply(client, plan, time.monotonic())
            return
        if not await self._forward(client, plan):
            return
        self.audit.record(self.core.commit(client, plan, self.clock(), time.monotonic()))

    async def _forward(self, client: Client, plan: CommandPlan) -> bool:
        if plan.command is None:
            return True
        try:
            await self.mqtt.publish_command(plan.command)
        except UpstreamUnavailableError as err:
            self.core.metrics.bump(self.core.metrics.command_errors, ErrorCode.UPSTREAM_UNAVAILABLE)
            text = f"{err}; the command was not delivered, retry"
            reply = error_reply(ErrorCode.UPSTREAM_UNAVAILABLE, text, plan.message.req)
            self.core.reply(client, reply, time.monotonic())
            return False
        return True
