"""The processor against the real Mosquitto and InfluxDB of the session fixtures."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiomqtt
import msgspec
import pytest
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync

from monitor.engine_evaluator import EngineEvaluator
from monitor.metrics import Metrics
from monitor.processor import Hooks, run_processor
from monitor.settings import ProcessorSettings, Role, instance_shards
from monitor.storage.influx import InfluxSettings, InfluxWriter
from monitor.storage.points import batch_lines
from vigil.mqtt_settings import MqttSettings
from vigil.services.endpoints import InfluxEndpoint, MqttEndpoint
from vigil.services.influxdb import InfluxDB
from vigil.wire import (
    AlarmEvent,
    AlarmState,
    DeadLetter,
    Reading,
    ReadingBatch,
    SessionBaseline,
    SessionDescriptor,
    SessionPending,
    Topics,
    shard_of,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _settings(
    mosquitto: MqttEndpoint, influx: InfluxSettings, root: str, spill: Path, **kw: object
) -> ProcessorSettings:
    options: dict[str, object] = {
        "client_id": f"{root}-proc",
        "spill_dir": spill,
        "restore_quiet_s": 0.2,
        "write_linger_s": 0.01,
        "shutdown_timeout_s": 5.0,
    } | kw
    return ProcessorSettings(
        mqtt=MqttSettings(host=mosquitto.host, port=mosquitto.port, root=root),
        influx=influx,
        **options,  # type: ignore[arg-type]
    )


def _influx(endpoint: InfluxEndpoint) -> InfluxSettings:
    return InfluxSettings(
        url=endpoint.url, org=endpoint.org, bucket=endpoint.bucket, token=endpoint.token
    )


@contextlib.asynccontextmanager
async def _running(
    settings: ProcessorSettings,
    on_stored: Callable[[ReadingBatch], None] | None = None,
    profile: str = "peer-compat",
) -> AsyncIterator[Metrics]:
    metrics = Metrics()
    hooks = Hooks(on_stored=on_stored)
    # The real engine; by default with the peer's rule set: an alarm on the first reading past
    # a limit.
    evaluator = EngineEvaluator(profile)
    task = asyncio.create_task(
        run_processor(settings, evaluator=evaluator, metrics=metrics, hooks=hooks)
    )
    try:
        await asyncio.wait_for(hooks.ready.wait(), 15)
        yield metrics
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _batch(
    session: str, device: str, first_seq: int, values: list[float], t0: float
) -> ReadingBatch:
    return ReadingBatch(
        gateway="gw-1",
        session=session,
        device=device,
        kind="hr_strap",
        readings=[
            Reading(seq=first_seq + i, t=t0 + (first_seq + i) * 0.001, values={"hr": v})
            for i, v in enumerate(values)
        ],
    )


async def _publish(port: int, root: str, batches: list[ReadingBatch], pause_s: float = 0) -> None:
    topics = Topics(root)
    async with aiomqtt.Client("127.0.0.1", port) as client:
        for batch in batches:
            await client.publish(topics.readings(batch.session), msgspec.json.encode(batch), qos=1)
            if pause_s:
                await asyncio.sleep(pause_s)


async def _query(endpoint: InfluxSettings, root: str, flux: str) -> list[Any]:
    """The records of `flux`, applied to this test's points (its sessions start with `root`)."""
    async with InfluxDBClientAsync(
        url=endpoint.url, token=endpoint.token, org=endpoint.org
    ) as client:
        tables = await client.query_api().query(
            'import "strings" '
            f'from(bucket: "{endpoint.bucket}") |> range(start: 0) '
            f'|> filter(fn: (r) => strings.hasPrefix(v: r.session, prefix: "{root}"))' + flux
        )
    return [record for table in tables for record in table.records]


async def _count(endpoint: InfluxSettings, measurement: str, root: str, field: str = "seq") -> int:
    records = await _query(
        endpoint,
        root,
        f'|> filter(fn: (r) => r._measurement == "{measurement}" and r._field == "{field}")'
        "|> group() |> count()",
    )
    return sum(int(r.get_value()) for r in records)


async def _alarm_points(endpoint: InfluxSettings, root: str) -> list[dict[str, object]]:
    """Every stored alarm event of this test, one row per point with its tags and fields."""
    records = await _query(
        endpoint,
        root,
        '|> filter(fn: (r) => r._measurement == "alarm_events")'
        '|> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")'
        '|> drop(columns: ["_start", "_stop", "_time", "_measurement"]) |> group()',
    )
    return [{k: v for k, v in r.values.items() if k not in ("result", "table")} for r in records]


async def _wait_count(
    endpoint: InfluxSettings, measurement: str, root: str, want: int, timeout: float
) -> int:
    deadline = time.monotonic() + timeout
    while True:
        got = await _count(endpoint, measurement, root)
        if got >= want or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.3)


async def test_readings_are_stored_alarms_raised_and_bad_payloads_dead_lettered(
    mosquitto: MqttEndpoint, influxdb: InfluxEndpoint, mqtt_root: str, tmp_path: Path
) -> None:
    influx = _influx(influxdb)
    topics = Topics(mqtt_root)
    session = f"{mqtt_root}-S1"
    t0 = time.time() - 60
    good = _batch(session, "hr-1", 0, [70.0] * 9 + [130.0], t0)
    encoded = msgspec.json.encode(good)
    bad = {
        "undecodable": (topics.readings(session), b"\x00 not json"),
        "schema_invalid": (topics.readings(session), b'{"v":1,"session":"x"}'),
        "unknown_version": (topics.readings(session), encoded.replace(b'"v":1', b'"v":9')),
        "topic_mismatch": (topics.readings(f"{mqtt_root}-S2"), encoded),
    }
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as watcher:
        await watcher.subscribe(topics.dead_letter, qos=1)
        await watcher.subscribe(topics.alarm_events("+"), qos=1)
        settings = _settings(mosquitto, influx, mqtt_root, tmp_path)
        async with _running(settings) as metrics:
            await _publish(mosquitto.port, mqtt_root, [good, good])  # the second is a duplicate
            async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
                for topic, payload in bad.values():
                    await client.publish(topic, payload, qos=1)
            letters: dict[str, DeadLetter] = {}
            events: list[AlarmEvent] = []
            async with asyncio.timeout(10):
                async for message in watcher.messages:
                    if message.topic.matches(topics.dead_letter):
                        letter = msgspec.json.decode(message.payload, type=DeadLetter)
                        letters[letter.reason.split(":")[0]] = letter
                    else:
                        events.append(msgspec.json.decode(message.payload, type=AlarmEvent))
                    if len(letters) == 4 and events:
                        break
            assert await _wait_count(influx, "vitals", mqtt_root, 10, 10) == 10
            assert await _wait_count(influx, "alarm_events", mqtt_root, 1, 10) == 1
            stored = await _alarm_points(influx, mqtt_root)
            assert (metrics.duplicates, metrics.readings_stored) == (10, 10)
            assert dict(metrics.rejected) == dict.fromkeys(bad, 1)
    assert sorted(letters) == sorted(bad)
    assert letters["undecodable"].payload == b"\x00 not json".decode()
    assert [(e.rule, e.kind, e.seq, e.session) for e in events] == [
        ("hr_high", "raised", 9, session)
    ]
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as reader:
        await reader.subscribe(topics.alarm_state(session, "+"), qos=1)
        async with asyncio.timeout(5):
            message = await anext(reader.messages)
    state = msgspec.json.decode(message.payload, type=AlarmState)
    assert (state.alarm_id, state.state, message.retain) == (events[0].alarm_id, "active", True)
    [event] = events
    assert stored == [
        {
            "session": session,
            "rule": "hr_high",
            "kind": "raised",
            "priority": event.priority,
            "metric": "hr",
            "device": "hr-1",
            "alarm_id": event.alarm_id,
            "message": event.message,
            "onset": event.onset,
            "value": 130.0,
            "threshold": event.threshold,
            "seq": 9,
        }
    ]


async def test_a_restart_restores_active_alarms_so_none_is_raised_twice(
    mosquitto: MqttEndpoint, influxdb: InfluxEndpoint, mqtt_root: str, tmp_path: Path
) -> None:
    influx = _influx(influxdb)
    topics = Topics(mqtt_root)
    session = f"{mqtt_root}-S1"
    t0 = time.time() - 60
    settings = _settings(mosquitto, influx, mqtt_root, tmp_path)
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as watcher:
        await watcher.subscribe(topics.alarm_events("+"), qos=1)
        async with _running(settings):
            await _publish(mosquitto.port, mqtt_root, [_batch(session, "hr-1", 0, [130.0], t0)])
            first = await anext(watcher.messages)
        async with _running(settings):  # the same instance, restarted
            await _publish(
                mosquitto.port,
                mqtt_root,
                [_batch(session, "hr-1", 1, [135.0], t0), _batch(session, "hr-1", 2, [80.0], t0)],
            )
            second = await anext(watcher.messages)
    raised = msgspec.json.decode(first.payload, type=AlarmEvent)
    resolved = msgspec.json.decode(second.payload, type=AlarmEvent)
    assert (raised.kind, resolved.kind, resolved.alarm_id) == (
        "raised",
        "resolved",
        raised.alarm_id,
    )
    assert resolved.seq == 2


async def test_a_delay_running_at_a_restart_raises_when_it_would_have_without_it(
    mosquitto: MqttEndpoint, influxdb: InfluxEndpoint, mqtt_root: str, tmp_path: Path
) -> None:
    topics = Topics(mqtt_root)
    session = f"{mqtt_root}-S1"
    t0 = time.time() - 60

    def tachycardia(seqs: range) -> ReadingBatch:  # ketamine-home hr_high: >= 131 for 15 s
        return ReadingBatch(
            gateway="gw-1", session=session, device="hr-1", kind="hr_strap",
            readings=[Reading(seq=s, t=t0 + s, values={"hr": 140.0}) for s in seqs],
        )  # fmt: skip

    settings = _settings(mosquitto, _influx(influxdb), mqtt_root, tmp_path)
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as watcher:
        await watcher.subscribe(topics.alarm_events("+"), qos=1)
        await watcher.subscribe(topics.session_pending(session), qos=1)
        messages = aiter(watcher.messages)
        async with _running(settings, profile="ketamine-home"):
            await _publish(mosquitto.port, mqtt_root, [tachycardia(range(10))])
            async with asyncio.timeout(10):
                started = await anext(messages)
        async with _running(settings, profile="ketamine-home"):  # the same instance, restarted
            await _publish(mosquitto.port, mqtt_root, [tachycardia(range(10, 16))])
            async with asyncio.timeout(10):
                after = [await anext(messages), await anext(messages)]
    delays = msgspec.json.decode(started.payload, type=SessionPending)
    assert (str(started.topic), delays.pending) == (
        topics.session_pending(session),
        {"hr_high": t0},
    )
    by_topic = {str(m.topic): m.payload for m in after}
    raised = msgspec.json.decode(by_topic[topics.alarm_events(session)], type=AlarmEvent)
    assert (raised.kind, raised.rule, raised.onset, raised.t, raised.seq) == (
        "raised", "hr_high", t0, t0 + 15, 15
    )  # fmt: skip
    assert by_topic[topics.session_pending(session)] == b""  # the delay is over: cleared


def _cuff(session: str, seq: int, t: float, sbp: float, dbp: float) -> ReadingBatch:
    return ReadingBatch(
        gateway="gw-1", session=session, device="bp-1", kind="bp_cuff",
        readings=[Reading(seq=seq, t=t, values={"sbp": sbp, "dbp": dbp})],
    )  # fmt: skip


@contextlib.asynccontextmanager
async def _cuff_session(
    client: aiomqtt.Client, root: str, *, started: float, dose_time: float
) -> AsyncIterator[str]:
    """A ketamine-home session with one cuff, retained (as `vigil session start` leaves it)
    while the block runs, cleared after it so that later tests on this broker do not see it."""
    topics, session = Topics(root), f"{root}-S1"
    descriptor = SessionDescriptor(
        session=session, patient="P-1", devices=["bp-1"], profile="ketamine-home",
        clinicians=["C-1"], started=started, dose_time=dose_time,
    )  # fmt: skip
    await client.publish(
        topics.session(session), msgspec.json.encode(descriptor), qos=1, retain=True
    )
    try:
        yield session
    finally:
        await client.publish(topics.session(session), b"", qos=1, retain=True)


async def test_a_restart_before_the_dose_keeps_the_readings_of_the_baseline(
    mosquitto: MqttEndpoint, influxdb: InfluxEndpoint, mqtt_root: str, tmp_path: Path
) -> None:
    topics = Topics(mqtt_root)
    now = time.time()
    influx = _influx(influxdb)
    settings = _settings(mosquitto, influx, mqtt_root, tmp_path)
    events: list[AlarmEvent] = []
    async with (
        aiomqtt.Client("127.0.0.1", mosquitto.port) as watcher,
        _cuff_session(watcher, mqtt_root, started=now - 900, dose_time=now + 6) as session,
    ):
        await watcher.subscribe(topics.session_baseline(session), qos=1)
        await watcher.subscribe(topics.alarm_events(session), qos=1)
        messages = aiter(watcher.messages)
        async with _running(settings, profile="ketamine-home"):  # two cuff cycles, then a crash
            cycles = [_cuff(session, 1, now - 600, 106, 70), _cuff(session, 2, now - 300, 114, 74)]
            await _publish(mosquitto.port, mqtt_root, cycles)
            assert await _wait_count(influx, "vitals", mqtt_root, 2, 10) == 2

        async def next_baseline() -> SessionBaseline:
            async with asyncio.timeout(15):
                async for message in messages:
                    if str(message.topic) == topics.session_baseline(session):
                        return msgspec.json.decode(message.payload, type=SessionBaseline)
                    events.append(msgspec.json.decode(message.payload, type=AlarmEvent))
            raise AssertionError("no baseline")

        async with _running(settings, profile="ketamine-home"):  # restarted before the dose
            baseline = await next_baseline()  # fixed at the dose
            await _publish(mosquitto.port, mqtt_root, [_cuff(session, 3, now + 2400, 155, 80)])
            async with asyncio.timeout(10):
                while not any(e.rule == "sbp_rise" for e in events):
                    message = await anext(messages)
                    events.append(msgspec.json.decode(message.payload, type=AlarmEvent))
    assert (baseline.dose_time, baseline.values) == (now + 6, {"sbp": 110.0, "dbp": 72.0})
    raised = {e.rule for e in events if e.kind == "raised"}
    assert "sbp_rise" in raised  # +45 mmHg; without the baseline, unnoticed:
    assert not raised & {"sbp_elevated", "sbp_severe"}  # 155 is under every absolute limit


async def test_a_cuff_silent_before_a_restart_is_called_stale_on_time(
    mosquitto: MqttEndpoint, influxdb: InfluxEndpoint, mqtt_root: str, tmp_path: Path
) -> None:
    now = time.time()
    last_cuff = now - 1195  # ketamine-home: sbp is stale 1,200 s after its last reading
    influx = _influx(influxdb)
    writer = InfluxWriter(influx)
    try:  # what the processor stored before it went down
        await writer.write(batch_lines(_cuff(f"{mqtt_root}-S1", 9, last_cuff, 120, 80)))
    finally:
        await writer.close()
    settings = _settings(mosquitto, influx, mqtt_root, tmp_path, restart_stale_grace_s=1.0)
    async with (
        aiomqtt.Client("127.0.0.1", mosquitto.port) as watcher,
        _cuff_session(watcher, mqtt_root, started=now - 3600, dose_time=now - 1800) as session,
    ):
        await watcher.subscribe(Topics(mqtt_root).alarm_events(session), qos=1)
        async with _running(settings, profile="ketamine-home"), asyncio.timeout(15):
            async for message in watcher.messages:
                event = msgspec.json.decode(message.payload, type=AlarmEvent)
                if event.rule == "stale_sbp":
                    break
    # At last_cuff + 1,200 s, within seconds of the restart; without the read-back it would
    # have come 1,200 s after the restart.
    assert (event.kind, round(event.onset, 3)) == ("raised", round(last_cuff + 1200, 3))


async def test_a_fall_that_straddles_a_restart_raises_its_rate_alarm(
    mosquitto: MqttEndpoint, influxdb: InfluxEndpoint, mqtt_root: str, tmp_path: Path
) -> None:
    def oximeter(seq: int, t: float, spo2: float) -> ReadingBatch:
        return ReadingBatch(
            gateway="gw-1", session=f"{mqtt_root}-S1", device="oxi-1", kind="pulse_oximeter",
            readings=[Reading(seq=seq, t=t, values={"spo2": spo2}, contact=True)],
        )  # fmt: skip

    now = time.time()
    influx = _influx(influxdb)
    writer = InfluxWriter(influx)
    try:  # what the processor stored in the seconds before it went down
        await writer.write(
            [line for i in range(10) for line in batch_lines(oximeter(i, now - 10 + i, 98))]
        )
    finally:
        await writer.close()
    settings = _settings(mosquitto, influx, mqtt_root, tmp_path)
    async with (
        aiomqtt.Client("127.0.0.1", mosquitto.port) as watcher,
        _cuff_session(watcher, mqtt_root, started=now - 3600, dose_time=now - 1800) as session,
    ):
        await watcher.subscribe(Topics(mqtt_root).alarm_events(session), qos=1)
        async with _running(settings, profile="ketamine-home"):
            await _publish(mosquitto.port, mqtt_root, [oximeter(10, now + 1, 93)])
            async with asyncio.timeout(10):
                async for message in watcher.messages:
                    event = msgspec.json.decode(message.payload, type=AlarmEvent)
                    if event.rule == "spo2_falling":
                        break
    # ketamine-home: a fall of 4 points within 60 s; 98 before the restart, 93 after it.
    assert (event.kind, event.value) == ("raised", 93.0)


async def test_influxdb_down_at_a_restart_costs_the_read_back_not_the_start(
    mosquitto: MqttEndpoint, mqtt_root: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    down = InfluxSettings(url="http://127.0.0.1:9", org="o", bucket="b", token="t")
    settings = _settings(mosquitto, down, mqtt_root, tmp_path)
    now = time.time()
    async with (
        aiomqtt.Client("127.0.0.1", mosquitto.port) as client,
        _cuff_session(client, mqtt_root, started=now - 900, dose_time=now + 600),
    ):
        started = time.monotonic()
        async with _running(settings, profile="ketamine-home"):
            assert time.monotonic() - started < 6
    assert "could not read the pre-dose readings back from InfluxDB for 1 of 1" in caplog.text


async def test_two_instances_split_the_sessions_between_them(
    mosquitto: MqttEndpoint, influxdb: InfluxEndpoint, mqtt_root: str, tmp_path: Path
) -> None:
    influx = _influx(influxdb)
    sessions = [f"{mqtt_root}-S{i}" for i in range(24)]
    t0 = time.time() - 60
    stored: list[set[str]] = [set(), set()]
    instances = [
        _settings(
            mosquitto,
            influx,
            mqtt_root,
            tmp_path / f"i{i}",
            client_id=f"{mqtt_root}-proc-{i}",
            shards=instance_shards(i, 2),
        )
        for i in range(2)
    ]
    async with contextlib.AsyncExitStack() as stack:
        metrics = []
        for i, settings in enumerate(instances):
            metrics.append(
                await stack.enter_async_context(
                    _running(settings, on_stored=lambda b, i=i: stored[i].add(b.session))
                )
            )
        await _publish(
            mosquitto.port,
            mqtt_root,
            [_batch(s, f"d{i}", 0, [70.0] * 5, t0) for i, s in enumerate(sessions)],
        )
        assert await _wait_count(influx, "vitals", mqtt_root, 120, 15) == 120
        for _ in range(50):
            if len(stored[0]) + len(stored[1]) == len(sessions):
                break
            await asyncio.sleep(0.1)
    assert stored[0] | stored[1] == set(sessions)
    assert not stored[0] & stored[1]
    assert all(shard_of(s) < 32 for s in stored[0])
    assert all(shard_of(s) >= 32 for s in stored[1])
    assert stored[0]
    assert stored[1]
    assert metrics[0].readings_in + metrics[1].readings_in == 120


async def test_influxdb_down_for_30_s_mid_stream_loses_no_point(
    mosquitto: MqttEndpoint, mqtt_root: str, tmp_path: Path
) -> None:
    server = InfluxDB(tmp_path / "influx")
    server.start()
    try:
        influx = InfluxSettings(
            url=server.url, org=server.setup.org, bucket=server.setup.bucket, token=server.token
        )
        session = f"{mqtt_root}-S1"
        t0 = time.time() - 600
        batches = [_batch(session, "hr-1", i * 10, [70.0] * 10, t0) for i in range(60)]
        settings = _settings(mosquitto, influx, mqtt_root, tmp_path / "spill")
        async with _running(settings) as metrics:
            await _publish(mosquitto.port, mqtt_root, batches[:20])
            assert await _wait_count(influx, "vitals", mqtt_root, 200, 10) == 200
            server.stop()
            await _publish(mosquitto.port, mqtt_root, batches[20:])
            await asyncio.sleep(30)
            assert metrics.write_failures > 0
            assert metrics.readings_stored == 600
            await asyncio.to_thread(server.start)
            assert await _wait_count(influx, "vitals", mqtt_root, 600, 20) == 600
    finally:
        server.stop()


async def test_a_processor_killed_with_sigkill_loses_no_reading(
    mosquitto: MqttEndpoint, influxdb: InfluxEndpoint, mqtt_root: str, tmp_path: Path
) -> None:
    influx = _influx(influxdb)
    env = {
        **os.environ,
        "VIGIL_MQTT_URL": f"mqtt://127.0.0.1:{mosquitto.port}",
        "VIGIL_INFLUX_URL": influx.url,
        "VIGIL_INFLUX_ORG": influx.org,
        "VIGIL_INFLUX_BUCKET": influx.bucket,
        "VIGIL_INFLUX_TOKEN": influx.token,
    }
    argv = [
        sys.executable,
        "-c",
        "import sys; from vigil.cli import main; sys.exit(main())"
        if _cli_has_processor()
        else "import argparse, sys; from monitor.command import configure_parser, run; "
        "p = argparse.ArgumentParser(); configure_parser(p); sys.exit(run(p.parse_args()))",
        *(["processor"] if _cli_has_processor() else []),
        "--root",
        mqtt_root,
        "--client-id",
        f"{mqtt_root}-proc",
        "--spill-dir",
        str(tmp_path),
    ]
    session = f"{mqtt_root}-S1"
    t0 = time.time() - 600
    batches = [_batch(session, "hr-1", i * 10, [70.0] * 10, t0) for i in range(300)]

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, env=env, cwd=REPO, stderr=subprocess.PIPE)

    # The persistent session must exist before publishing: the first run creates it.
    first = start()
    try:
        await _wait_until_consuming(mosquitto.port, mqtt_root, influx)
        publisher = asyncio.create_task(_publish(mosquitto.port, mqtt_root, batches, 0.01))
        await asyncio.sleep(1.0)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert not publisher.done()  # killed mid-stream
        await publisher
        assert await _count(influx, "vitals", mqtt_root) < 3000
        second = start()
        try:
            assert await _wait_count(influx, "vitals", mqtt_root, 3000, 40) == 3000
            await _wait_until_consuming(mosquitto.port, mqtt_root, influx, first_seq=1000)
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0, second.stderr.read().decode() if second.stderr else ""
    finally:
        if first.poll() is None:
            first.kill()


def _cli_has_processor() -> bool:
    from vigil.cli import SUBCOMMANDS  # noqa: PLC0415

    return "processor" in SUBCOMMANDS


async def _wait_until_consuming(
    port: int, root: str, influx: InfluxSettings, first_seq: int = 0
) -> None:
    """Publish probe readings (a session outside `root`'s prefix) until one more is stored."""
    session = f"p{root}"
    before = await _count(influx, "vitals", session)
    for seq in range(first_seq, first_seq + 300):
        await _publish(port, root, [_batch(session, "probe", seq, [70.0], time.time() - 600)])
        if await _count(influx, "vitals", session) > before:
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the processor did not start consuming")


async def test_split_roles_store_every_reading_once_and_raise_every_alarm_once(
    mosquitto: MqttEndpoint, influxdb: InfluxEndpoint, mqtt_root: str, tmp_path: Path
) -> None:
    """An `alarms` and a `storage` instance on the same shards, each with its own session."""
    influx = _influx(influxdb)
    topics = Topics(mqtt_root)
    session = f"{mqtt_root}-S1"
    t0 = time.time() - 60
    roles = {
        role: _settings(
            mosquitto, influx, mqtt_root, tmp_path / role.value,
            client_id=f"{mqtt_root}-{role.value}", role=role,
        )
        for role in (Role.ALARMS, Role.STORAGE)
    }  # fmt: skip
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as watcher:
        await watcher.subscribe(topics.alarm_events("+"), qos=1)
        await watcher.subscribe(topics.dead_letter, qos=1)
        async with (
            _running(roles[Role.ALARMS]) as alarms,
            _running(roles[Role.STORAGE]) as storage,
        ):
            await _publish(
                mosquitto.port,
                mqtt_root,
                [_batch(session, "hr-1", 0, [70.0] * 4 + [130.0], t0)] * 2,  # and a duplicate
            )
            async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
                await client.publish(topics.readings(session), b"\x00 not json", qos=1)
            received = []
            async with asyncio.timeout(10):
                async for message in watcher.messages:
                    received.append(message)
                    if len(received) == 2:
                        break
            assert await _wait_count(influx, "vitals", mqtt_root, 5, 10) == 5
            assert await _wait_count(influx, "alarm_events", mqtt_root, 1, 10) == 1
            await asyncio.sleep(0.5)  # room for a second alarm or dead letter, were there one
            assert len([m async for m in _drain(watcher)]) == 0
    assert sorted(str(m.topic) for m in received) == sorted(
        [topics.alarm_events(session), topics.dead_letter]
    )
    # Both judged admission; only the storage role stored, only the alarm role dead-lettered.
    assert (alarms.readings_in, storage.readings_in) == (10, 10)
    assert (alarms.duplicates, storage.duplicates) == (5, 5)
    assert (alarms.readings_stored, storage.readings_stored) == (0, 5)
    assert (alarms.dead_letters, storage.dead_letters) == (1, 0)
    assert +alarms.rejected == +storage.rejected == {"undecodable": 1}
    assert alarms.alarm_events["raised"] == 1
    assert not storage.alarm_events


async def _drain(client: aiomqtt.Client) -> AsyncIterator[aiomqtt.Message]:
    """What has already arrived, without waiting for more."""
    while True:
        try:
            async with asyncio.timeout(0.1):
                yield await anext(client.messages)
        except TimeoutError:
            return
