"""`run_hub`: the hub's edges and core wired together under one TaskGroup.

MQTT (aiomqtt) --decode_inbound--> HubCore --ClientQueue--> writer --> websocket
websocket --> reader --decode_client--> HubCore.plan --> MQTT command --> HubCore.commit
ticker (injected clock) --> HubCore.tick: escalations, token expiry, vitals flush
audit records --> InfluxAuditWriter --> InfluxDB `audit`
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Literal

import msgspec
from websockets.asyncio.server import serve

from alerts.hub.audit import AuditSink
from alerts.hub.audit_writer import DiscardAuditSink, InfluxAuditWriter
from alerts.hub.core import HubCore
from alerts.hub.http import HttpRoutes, load_static
from alerts.hub.inbound import Rejected, decode_inbound
from alerts.hub.metrics import HubMetrics, render
from alerts.hub.mqtt import MqttLink
from alerts.hub.policy import EscalationPolicy
from alerts.hub.server import Clock, HubServer, UsersStore
from alerts.hub.settings import HubSettings
from alerts.hub.tokens import TokenSigner
from vigil.wire import Topics

log = logging.getLogger(__name__)

# Bounded, so a flood of one bad publisher cannot fill the log; each reason is logged once.
_LOGGED_REJECTIONS = 100


def _audit_sink(
    settings: HubSettings, metrics: HubMetrics, audit: AuditSink | None
) -> tuple[AuditSink, InfluxAuditWriter | None]:
    if audit is not None:
        return audit, None
    if settings.influx is not None:
        writer = InfluxAuditWriter(settings.influx, metrics=metrics)
        return writer, writer
    log.warning("no InfluxDB configured: the audit trail is OFF")
    return DiscardAuditSink(), None


def _inbound_handler(
    core: HubCore, sink: AuditSink, topics: Topics, clock: Clock
) -> Callable[[str, bytes, float], None]:
    rejected: set[str] = set()

    def on_message(topic: str, payload: bytes, mono: float) -> None:
        item = decode_inbound(topics, topic, payload)
        if isinstance(item, Rejected):
            core.metrics.mqtt_rejected += 1
            if item.reason not in rejected and len(rejected) < _LOGGED_REJECTIONS:
                rejected.add(item.reason)
                log.warning("ignored a message on %s: %s", topic, item.reason)
            return
        sink.record(core.on_inbound(item, clock(), mono))

    return on_message


async def run_hub(
    settings: HubSettings,
    *,
    clock: Clock = time.time,
    audit: AuditSink | None = None,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Serve until cancelled. `on_ready` gets the bound port (useful with port 0)."""
    metrics = HubMetrics()
    policy = EscalationPolicy.with_bundled_profiles(settings.escalation_s)
    core = HubCore(
        settings.core, epoch=secrets.token_hex(8), escalation_after=policy.after_s, metrics=metrics
    )
    sink, writer = _audit_sink(settings, metrics, audit)
    on_message = _inbound_handler(core, sink, Topics(settings.mqtt.root), clock)

    def on_state(state: Literal["connected", "disconnected"]) -> None:
        core.set_upstream(state == "connected", clock(), time.monotonic())

    mqtt = MqttLink(
        settings.mqtt,
        client_id=settings.client_id,
        on_message=on_message,
        on_state=on_state,
        publish_timeout_s=settings.command_timeout_s,
    )

    def health() -> tuple[bool, bytes]:
        body = {
            "status": "ok" if mqtt.connected else "degraded",
            "mqtt": "connected" if mqtt.connected else "disconnected",
            "clients": len(core.clients),
            "active_alarms": core.active_alarm_count(),
            "epoch": core.log.epoch,
        }
        return mqtt.connected, msgspec.json.encode(body)

    def metrics_text() -> str:
        return render(
            metrics,
            clients_by_role=core.clients_by_role(),
            queue_depths=core.queue_depths(),
            mqtt_connected=mqtt.connected,
            active_alarms=core.active_alarm_count(),
        )

    server = HubServer(
        core=core,
        users=UsersStore(settings.users_file),
        signer=TokenSigner(settings.token_secret, settings.token_ttl_s),
        mqtt=mqtt,
        audit=sink,
        routes=HttpRoutes(load_static(settings.web_root), health, metrics_text),
        clock=clock,
        allowed_origins=settings.allowed_origins,
        tls=settings.tls,
        auth_timeout_s=settings.auth_timeout_s,
        close_timeout_s=settings.close_timeout_s,
        send_buffer_bytes=settings.send_buffer_bytes,
    )

    async def ticker() -> None:
        while True:
            sink.record(core.tick(clock(), time.monotonic()))
            await asyncio.sleep(settings.tick_s)

    async with serve(
        server.handle,
        settings.host,
        settings.port,
        process_request=server.process_request,
        ssl=settings.ssl_context(),
        # Every client gets the same encoded bytes; per-connection compression would
        # re-encode them once per client and cost latency on the alarm path.
        compression=None,
        max_size=settings.max_message_bytes,
        close_timeout=settings.close_timeout_s,
    ) as ws_server:
        port = int(ws_server.sockets[0].getsockname()[1])
        scheme = "https" if settings.tls else "http"
        log.info("hub listening on %s://%s:%d (dashboard at /)", scheme, settings.host, port)
        async with asyncio.TaskGroup() as group:
            group.create_task(mqtt.run())
            group.create_task(ticker())
            if writer is not None:
                group.create_task(writer.run())
            if on_ready is not None:
                on_ready(port)
