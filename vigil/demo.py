"""`vigil demo`: the pipeline end to end on this machine, printing what flows through it.

Stage one (walking skeleton): a reading is published to the real broker, the processor stores
it in the real InfluxDB, and a Flux query reads it back.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import aiomqtt
import msgspec
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync

from monitor.processor import ProcessorSettings, run_processor
from monitor.storage.influx import InfluxSettings
from vigil.errors import VigilError
from vigil.mqtt_settings import MqttSettings
from vigil.services import Endpoints, ServiceStack
from vigil.wire import Reading, ReadingBatch, Topics

STEP_TIMEOUT_S = 15.0


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="where services keep data and logs (default: a temporary folder)",
    )


def say(stage: str, text: str) -> None:
    print(f"[{stage:>9}] {text}", flush=True)  # noqa: T201 - the demo's output is for people


async def walking_skeleton(endpoints: Endpoints) -> None:
    assert endpoints.mqtt is not None
    assert endpoints.influx is not None
    influx = endpoints.influx
    mqtt = MqttSettings(host=endpoints.mqtt.host, port=endpoints.mqtt.port)
    settings = ProcessorSettings(
        mqtt=mqtt,
        influx=InfluxSettings(
            url=influx.url, org=influx.org, bucket=influx.bucket, token=influx.token
        ),
    )
    ready, stored = asyncio.Event(), asyncio.Event()

    def on_stored(batch: ReadingBatch) -> None:
        say("processor", f"stored {len(batch.readings)} reading(s) of {batch.device} in InfluxDB")
        stored.set()

    processor = asyncio.create_task(run_processor(settings, ready=ready, on_stored=on_stored))
    try:
        await asyncio.wait_for(ready.wait(), STEP_TIMEOUT_S)
        batch = ReadingBatch(
            gateway="demo-gw",
            session="S-DEMO-1",
            device="hr-demo",
            kind="hr_strap",
            readings=[Reading(seq=1, t=time.time(), values={"hr": 72.0}, contact=True)],
        )
        topic = Topics(mqtt.root).readings(batch.session)
        async with aiomqtt.Client(mqtt.host, mqtt.port) as client:
            await client.publish(topic, msgspec.json.encode(batch), qos=1)
        say("device", f"{batch.device}: HR 72 bpm, contact detected")
        say("mqtt", f"published to {topic} (QoS 1, acknowledged)")
        await asyncio.wait_for(stored.wait(), STEP_TIMEOUT_S)
    finally:
        processor.cancel()
        await asyncio.gather(processor, return_exceptions=True)

    async with InfluxDBClientAsync(
        url=influx.url, token=influx.token, org=influx.org
    ) as influx_client:
        tables = await influx_client.query_api().query(
            f'from(bucket: "{influx.bucket}") |> range(start: -1h) '
            '|> filter(fn: (r) => r._measurement == "vitals" and r._field == "hr")'
        )
    for record in (r for table in tables for r in table.records):
        say(
            "influxdb",
            f"read back with Flux: session={record['session']} device={record['device']} "
            f"hr={record['_value']} at {record['_time'].isoformat()}",
        )


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="vigil-demo-") as tmp:
        run_dir = args.run_dir or Path(tmp)
        say("services", f"starting Mosquitto and InfluxDB in {run_dir}")
        with ServiceStack(run_dir) as endpoints:
            assert endpoints.mqtt is not None
            assert endpoints.influx is not None
            say(
                "services",
                f"mqtt {endpoints.mqtt.url}, InfluxDB {endpoints.influx.version} "
                f"at {endpoints.influx.url}",
            )
            try:
                asyncio.run(walking_skeleton(endpoints))
            except TimeoutError as err:
                raise VigilError(
                    f"a stage of the demo timed out; see the service logs in {run_dir}"
                ) from err
    return 0
