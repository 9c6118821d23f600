"""The stream processor: wires the MQTT link, the pipeline, the journal and the shipper.

    restore (retained alarm states, sessions) -> main link (persistent session, owned shards)
    message -> Pipeline.handle -> GroupCommit -> Journal (durable spill) -> PUBACK
                                                 Journal -> Shipper -> InfluxDB
    ticks (Clock) -> Evaluator.advance -> alarm events and states

Cancellation (SIGTERM in `monitor.command`) flushes: what is staged is appended and
acknowledged, the link disconnects, and the journal is shipped to InfluxDB within
`shutdown_timeout_s`; anything left stays in the spill and is shipped on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from monitor.admission import Admission
from monitor.clock import Clock, SystemClock
from monitor.commit import GroupCommit
from monitor.engine_evaluator import EngineEvaluator
from monitor.errors import MqttUnavailableError
from monitor.evaluation import Evaluator
from monitor.metrics import Metrics
from monitor.metrics_server import serve_metrics
from monitor.mqtt_consumer import MqttLink, Publication
from monitor.pipeline import Pipeline
from monitor.recovery import collect_retained
from monitor.settings import ProcessorSettings
from monitor.storage.history import StoredHistory
from monitor.storage.influx import InfluxWriter
from monitor.storage.journal import Journal
from monitor.storage.shipper import Shipper, backoff_s
from vigil.wire import ReadingBatch, Topics

log = logging.getLogger(__name__)

SPILL_WAIT_S = 2.0


__all__ = ["Hooks", "ProcessorSettings", "run_processor"]


@dataclass(frozen=True, slots=True)
class Hooks:
    """What a test or an embedding program may observe."""

    ready: asyncio.Event = field(default_factory=asyncio.Event)  # consuming readings
    metrics_port: asyncio.Future[int] | None = None
    # called with each batch once its new readings are in InfluxDB
    on_stored: Callable[[ReadingBatch], None] | None = None


async def run_processor(  # noqa: PLR0913 - collaborators are injected, all optional
    settings: ProcessorSettings,
    *,
    evaluator: Evaluator | None = None,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
    hooks: Hooks | None = None,
    ready: asyncio.Event | None = None,
    on_stored: Callable[[ReadingBatch], None] | None = None,
) -> None:
    """Run until cancelled. `ready` and `on_stored` are shorthands for `hooks`."""
    if hooks is None:
        hooks = Hooks(ready=ready or asyncio.Event(), on_stored=on_stored)
    clock = clock or SystemClock()
    evaluator = evaluator or EngineEvaluator(clock=clock)
    metrics = metrics or Metrics()
    journal = Journal(settings.spill_dir / "journal")
    writer = InfluxWriter(settings.influx, timeout_s=settings.write_timeout_s)
    shipper = Shipper(
        journal,
        writer,
        metrics,
        batch_bytes=settings.write_batch_bytes,
        linger_s=settings.write_linger_s,
    )
    commit = GroupCommit(
        journal,
        on_appended=shipper.notify,
        fsync_each=settings.fsync_interval_s == 0,
        max_backlog_bytes=settings.max_spill_bytes,
    )
    shipper.on_shipped = commit.make_room
    pipeline = Pipeline(
        topics=Topics(settings.mqtt.root),
        shards=settings.shards,
        evaluator=evaluator,
        admission=Admission(window=settings.dedup_window, lateness_s=settings.lateness_s),
        commit=commit,
        metrics=metrics,
        clock=clock,
        role=settings.role,
    )
    pipeline.on_stored = hooks.on_stored
    metrics.gauge("spill_bytes", "journal bytes not yet in InfluxDB", lambda: journal.backlog_bytes)
    metrics.gauge(
        "groups_held", "commit groups waiting for fsync or spill room", lambda: commit.held
    )
    if journal.backlog_bytes:
        log.info("spill holds %d bytes from an earlier run; shipping", journal.backlog_bytes)
    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(shipper.run())
            if settings.fsync_interval_s > 0:
                tasks.create_task(_sync_periodically(journal, settings.fsync_interval_s))
            if settings.metrics_port is not None:
                tasks.create_task(
                    serve_metrics(
                        metrics.render,
                        settings.metrics_host,
                        settings.metrics_port,
                        bound=hooks.metrics_port,
                    )
                )
            tasks.create_task(
                _consume(
                    settings,
                    pipeline,
                    shipper=shipper,
                    commit=commit,
                    metrics=metrics,
                    hooks=hooks,
                    clock=clock,
                )
            )
    finally:
        commit.flush_now()
        try:
            async with asyncio.timeout(settings.shutdown_timeout_s):
                await shipper.drain()
        except TimeoutError:
            log.warning(
                "shutdown: %d bytes left in the spill %s; shipped on the next start",
                journal.backlog_bytes,
                journal.directory,
            )
        journal.sync()
        journal.close()
        await writer.close()


async def _consume(  # noqa: PLR0913 - the wiring of one link's life
    settings: ProcessorSettings,
    pipeline: Pipeline,
    *,
    shipper: Shipper,
    commit: GroupCommit,
    metrics: Metrics,
    hooks: Hooks,
    clock: Clock,
) -> None:
    """Restore, then consume; on a lost connection, settle and start over with backoff."""
    attempt = 0
    restored = False
    carried: list[Publication] = []  # alarm publishes a lost link had not got acknowledged
    while True:
        try:
            if not restored and settings.role.evaluates:
                found = await collect_retained(
                    settings.mqtt,
                    client_id=f"{settings.client_id}-restore",
                    shards=settings.shards,
                    quiet_s=settings.restore_quiet_s,
                    max_s=settings.restore_max_s,
                    connect_timeout_s=settings.connect_timeout_s,
                )
                pipeline.restore(found)
                await _read_back(settings, pipeline, shipper)
            restored = True
            await _one_link(
                settings,
                pipeline,
                commit=commit,
                metrics=metrics,
                hooks=hooks,
                clock=clock,
                carried=carried,
            )
            attempt = 0
        except MqttUnavailableError as err:
            attempt += 1
            delay = backoff_s(attempt, base_s=0.5, cap_s=5.0)
            log.warning("MQTT: %s; retrying in %.1f s", err, delay)
            await asyncio.sleep(delay)


async def _read_back(settings: ProcessorSettings, pipeline: Pipeline, shipper: Shipper) -> None:
    """What the restored sessions' alarms need from before the restart, from InfluxDB
    (`monitor.storage.history`): when each watched metric was last seen, so the deadman calls
    it stale on time; the last minute's readings, which refill the rate windows; and the
    pre-dose readings of sessions not yet dosed, so their baselines are the ones an
    uninterrupted processor would fix. What the previous run left in the spill is shipped
    first (the shipper starts on it at once), for at most `SPILL_WAIT_S`: a spill that does not
    go out that fast means InfluxDB is down or behind, and alarms must not wait for it.
    Whatever InfluxDB cannot answer within about `restore_max_s` in all is logged and left as
    it would be without this."""
    last_seen = pipeline.last_seen_request()
    rates = pipeline.rates_request()
    baselines = pipeline.history_requests()
    if last_seen is None and rates is None and not baselines:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.restore_max_s

    def remaining() -> float:
        return max(1.0, deadline - loop.time())

    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(min(SPILL_WAIT_S, settings.restore_max_s)):
            await shipper.caught_up()
    async with StoredHistory(settings.influx, timeout_s=settings.restore_max_s) as history:
        if last_seen is not None:
            metrics, since = last_seen
            seen = await history.last_seen(metrics, since, timeout_s=remaining())
            if seen is not None:
                sessions = pipeline.restore_last_seen(seen, settings.restart_stale_grace_s)
                log.info("read back last-seen times of %d sessions", sessions)
        if rates is not None:
            recent = await history.readings(
                [rates],
                timeout_s=remaining(),
                what="the readings of the rate windows",
                otherwise="the windows refill from the next readings",
            )
            log.info("read back %d readings into rate windows", pipeline.restore_rates(recent))
        if baselines:
            stored = await history.readings(
                baselines,
                timeout_s=remaining(),
                what="the pre-dose readings",
                otherwise="those baselines come from the readings after the restart",
            )
            log.info(
                "read back %d pre-dose readings of %d of %d sessions for their baselines",
                pipeline.restore_history(stored),
                len(stored),
                len(baselines),
            )


async def _one_link(  # noqa: PLR0913
    settings: ProcessorSettings,
    pipeline: Pipeline,
    *,
    commit: GroupCommit,
    metrics: Metrics,
    hooks: Hooks,
    clock: Clock,
    carried: list[Publication],
) -> None:
    """One connection's life. Leaves in `carried` what it could not get acknowledged."""
    link = MqttLink(
        settings.mqtt,
        client_id=settings.client_id,
        handler=pipeline.handle,
        persistent=True,
        receive_maximum=settings.max_in_flight,
        connect_timeout_s=settings.connect_timeout_s,
    )
    metrics.gauge("in_flight", "messages received, not yet acknowledged", lambda: link.handling)
    metrics.gauge(
        "publishes_pending",
        "alarm and dead-letter publishes not yet acknowledged",
        lambda: link.unacknowledged_publishes,
    )
    async with link:
        # Resent first, in order: the broker may have some already (idempotent event ids).
        for topic, payload, qos, retain in carried:
            link.publish(topic, payload, qos=qos, retain=retain)
        carried.clear()
        pipeline.attach(link.publish)
        try:
            await link.unsubscribe(pipeline.foreign_filters())
            await link.subscribe(pipeline.filters())
            log.info(
                "consuming shards %s as %s (role %s)",
                sorted(settings.shards),
                settings.client_id,
                settings.role.value,
            )
            hooks.ready.set()
            async with asyncio.TaskGroup() as tasks:
                ticker = None
                if settings.role.evaluates:  # deadman, delays and expiries are the alarm role's
                    ticker = tasks.create_task(_tick(pipeline, clock, settings.tick_s))
                await asyncio.shield(link.lost)
                if ticker is not None:
                    ticker.cancel()
            raise MqttUnavailableError("the broker closed the connection")
        finally:
            hooks.ready.clear()
            # Acknowledge what is handled before disconnecting; the rest is redelivered.
            commit.flush_now()
            await link.settle(settings.connect_timeout_s)
            carried.extend(link.pending_publishes())


async def _tick(pipeline: Pipeline, clock: Clock, tick_s: float) -> None:
    while True:
        await clock.sleep_until(clock.now() + tick_s)
        pipeline.tick()


async def _sync_periodically(journal: Journal, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        await asyncio.to_thread(journal.sync)
