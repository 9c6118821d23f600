"""A reading crosses the whole skeleton: MQTT (real Mosquitto) -> processor -> real InfluxDB."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiomqtt
import msgspec
import pytest
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync

from monitor.processor import ProcessorSettings, run_processor
from monitor.storage.influx import InfluxSettings
from vigil.mqtt_settings import MqttSettings
from vigil.services.endpoints import InfluxEndpoint, MqttEndpoint
from vigil.wire import Reading, ReadingBatch, Topics

pytestmark = pytest.mark.integration


async def test_a_published_reading_is_stored_and_read_back_with_flux(
    mosquitto: MqttEndpoint, influxdb: InfluxEndpoint, mqtt_root: str, tmp_path: Path
) -> None:
    settings = ProcessorSettings(
        mqtt=MqttSettings(host=mosquitto.host, port=mosquitto.port, root=mqtt_root),
        influx=InfluxSettings(
            url=influxdb.url, org=influxdb.org, bucket=influxdb.bucket, token=influxdb.token
        ),
        client_id=f"{mqtt_root}-processor",
        spill_dir=tmp_path / "spill",
        restore_quiet_s=0.1,
    )
    ready, stored = asyncio.Event(), asyncio.Event()
    processor = asyncio.create_task(
        run_processor(settings, ready=ready, on_stored=lambda _: stored.set())
    )
    await asyncio.wait_for(ready.wait(), 10)

    now = round(time.time(), 3)
    session = f"S-{mqtt_root}"
    batch = ReadingBatch(
        gateway="gw-1",
        session=session,
        device="hr-1",
        kind="hr_strap",
        readings=[Reading(seq=1, t=now, values={"hr": 71.0}, contact=True, rr_ms=[845.7])],
    )
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
        await client.publish(Topics(mqtt_root).readings(session), msgspec.json.encode(batch), qos=1)
    await asyncio.wait_for(stored.wait(), 10)
    processor.cancel()
    await asyncio.gather(processor, return_exceptions=True)

    async with InfluxDBClientAsync(
        url=influxdb.url, token=influxdb.token, org=influxdb.org
    ) as client:
        tables = await client.query_api().query(
            f'from(bucket: "{influxdb.bucket}") |> range(start: -1h) '
            f'|> filter(fn: (r) => r._measurement == "vitals" and r.session == "{session}")'
        )
    rows = {(r.get_field(), r.get_value()) for table in tables for r in table.records}
    assert rows == {
        ("hr", 71.0),
        ("seq", 1),
        ("contact", True),
        ("rr_ms", "845.7"),  # no `historical`: written only when true (docs/storage.md)
    }
    record = tables[0].records[0]
    assert (record["device"], record["kind"], record["gateway"]) == ("hr-1", "hr_strap", "gw-1")
    assert abs(record.get_time().timestamp() - now) < 1e-3
