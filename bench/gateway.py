"""The gateway's MQTT side: notifications in, acknowledged publishes out.

`Gateway.record(device, observation, t, historical)` is what a BLE notification handler
calls; here the bench calls it directly (no radio) while the gateway's real `Publisher` runs
against a fresh Mosquitto (nodelay, as in production). Row ids of a fresh outbox are the
order of `record` calls, so wrapping the outbox's `ack` gives every reading's
notification -> PUBACK time.

* throughput: `readings` notifications recorded as fast as the event loop allows, spread
  over `devices` devices; acknowledged readings/s until the outbox is empty, and publishes/s.
* latency: `devices` devices x 1 notification/s each for `seconds`; p50/p99 of
  notification -> PUBACK.
Baseline, same run, same broker: the raw-socket QoS 1 publisher (`bench.mqtt_raw`) sending
one `ReadingBatch` per notification (throughput: a window of 100; latency: send -> PUBACK).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from bench.mqtt_raw import WindowedPublisher, utf8
from bench.steps import percentile
from bench.systems import BenchBroker
from vigil.mqtt_settings import MqttSettings
from vigil.wire import Reading, ReadingBatch, Topics

DRAIN_TIMEOUT_S = 120.0


def _gateway(port: int, devices: int, outbox: Path) -> Any:  # noqa: ANN401 - devices.gateway types
    from devices.gateway.app import Gateway  # noqa: PLC0415
    from devices.gateway.config import DeviceConfig, GatewaySettings  # noqa: PLC0415
    from devices.gateway.link import BleBackend  # noqa: PLC0415

    settings = GatewaySettings(
        id="gw-bench",
        mqtt=MqttSettings(port=port),
        devices=tuple(
            DeviceConfig(id=f"hr{d:04d}", kind="hr_strap", session=f"gb{d:04d}")
            for d in range(devices)
        ),
        outbox=outbox,
    )
    return Gateway(settings, BleBackend())


async def _drive_gateway(
    port: int, devices: int, readings: int, rate: float | None
) -> dict[str, Any]:
    from devices.gateway.observations import Observation  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="vigil-bench-gw-") as tmp:
        gateway = _gateway(port, devices, Path(tmp) / "outbox.sqlite")
        t_record: list[float] = []
        t_ack: dict[int, float] = {}
        original_ack = gateway.outbox.ack

        def timed_ack(ids: list[int]) -> None:
            original_ack(ids)
            now = time.perf_counter()
            for i in ids:
                t_ack[i] = now

        gateway.outbox.ack = timed_ack
        publisher = asyncio.create_task(gateway.publisher.run())
        try:
            await asyncio.wait_for(gateway.publisher.connected.wait(), 15)
            links = gateway.settings.devices
            observation = Observation(values={"hr": 72.0}, contact=True)
            start = time.perf_counter()
            for i in range(readings):
                if rate is not None:
                    due = start + i / rate
                    if (wait := due - time.perf_counter()) > 0:
                        await asyncio.sleep(wait)
                elif i % 50 == 0:
                    await asyncio.sleep(0)
                t_record.append(time.perf_counter())
                gateway.record(links[i % len(links)], observation, time.time(), historical=False)
            deadline = time.perf_counter() + DRAIN_TIMEOUT_S
            while gateway.outbox.depth and time.perf_counter() < deadline:  # noqa: ASYNC110 - the outbox has no "empty" event to wait on
                await asyncio.sleep(0.002)
            end = time.perf_counter()
        finally:
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await publisher
            gateway.outbox.close()
    latencies = [t_ack[i + 1] - t for i, t in enumerate(t_record) if i + 1 in t_ack]
    return {
        "readings": readings,
        "acked": len(t_ack),
        "seconds": round(end - start, 3),
        "acked_per_s": round(len(t_ack) / (end - start), 1),
        "publishes": gateway.publisher.published_batches,
        "publishes_per_s": round(gateway.publisher.published_batches / (end - start), 1),
        "p50_ms": _ms(percentile(latencies, 50)),
        "p99_ms": _ms(percentile(latencies, 99)),
    }


def _raw_baseline(port: int, devices: int, readings: int, rate: float | None) -> dict[str, Any]:
    topics = Topics()
    encoder = msgspec.json.Encoder()
    payloads = []
    for i in range(readings):
        d = i % devices
        batch = ReadingBatch(
            gateway="gw-bench",
            session=f"gb{d:04d}",
            device=f"hr{d:04d}",
            kind="hr_strap",
            readings=[Reading(seq=i // devices, t=time.time(), values={"hr": 72.0}, contact=True)],
        )
        payloads.append((utf8(topics.readings(batch.session)), encoder.encode(batch)))
    pub = WindowedPublisher("127.0.0.1", port, f"bench-gw-raw-{time.time_ns()}", 100)
    latencies = []
    start = time.perf_counter()
    try:
        for i, (topic, payload) in enumerate(payloads):
            if rate is not None:
                due = start + i / rate
                while (wait := due - time.perf_counter()) > 0:
                    pub.pump(wait)
                sent = time.perf_counter()
                pub.publish(topic, payload)
                while pub.acked < pub.sent:
                    pub.pump(0.001)
                latencies.append(time.perf_counter() - sent)
            else:
                pub.publish(topic, payload)
        pub.flush(DRAIN_TIMEOUT_S)
        end = time.perf_counter()
    finally:
        pub.close()
    return {
        "readings": readings,
        "acked": pub.acked,
        "seconds": round(end - start, 3),
        "acked_per_s": round(pub.acked / (end - start), 1),
        "p50_ms": _ms(percentile(latencies, 50)),
        "p99_ms": _ms(percentile(latencies, 99)),
    }


def _ms(x: float | None) -> float | None:
    return None if x is None else round(1000 * x, 3)


def run(
    run_dir: Path,
    *,
    repeats: int = 3,
    readings: int = 20_000,
    devices: int = 100,
    seconds: float = 10.0,
) -> dict[str, Any]:
    # aiomqtt warns once per publish beyond its queue (and resets its level on import).
    logging.getLogger("mqtt").addFilter(lambda rec: "pending publish" not in rec.getMessage())
    broker = BenchBroker(run_dir / "broker-gateway", nodelay=True)
    broker.start()
    runs: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("gw_tp", "raw_tp", "gw_lat", "raw_lat")
    }
    try:
        for _ in range(repeats):
            runs["gw_tp"].append(asyncio.run(_drive_gateway(broker.port, devices, readings, None)))
            runs["raw_tp"].append(_raw_baseline(broker.port, devices, readings, None))
            n = int(devices * seconds)
            runs["raw_lat"].append(_raw_baseline(broker.port, devices, n, float(devices)))
            runs["gw_lat"].append(
                asyncio.run(_drive_gateway(broker.port, devices, n, float(devices)))
            )
            print(f"gateway: {[r[-1] for r in runs.values()]}", flush=True)
    finally:
        broker.stop()
    med = lambda k, f: statistics.median(r[f] for r in runs[k])  # noqa: E731
    return {
        "devices": devices,
        "throughput_readings": readings,
        "latency": f"{devices} devices x 1 notification/s for {seconds:g} s",
        "runs": runs,
        "median": {
            "gateway_acked_readings_per_s": med("gw_tp", "acked_per_s"),
            "gateway_publishes_per_s": med("gw_tp", "publishes_per_s"),
            "raw_acked_per_s": med("raw_tp", "acked_per_s"),
            "gateway_p50_ms": med("gw_lat", "p50_ms"),
            "gateway_p99_ms": med("gw_lat", "p99_ms"),
            "raw_p50_ms": med("raw_lat", "p50_ms"),
            "raw_p99_ms": med("raw_lat", "p99_ms"),
        },
        "ratios": {
            "gateway / raw throughput": round(
                med("gw_tp", "acked_per_s") / med("raw_tp", "acked_per_s"), 3
            ),
            "gateway / raw p99": round(med("gw_lat", "p99_ms") / med("raw_lat", "p99_ms"), 2),
        },
    }
