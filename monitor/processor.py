"""The stream processor's MQTT edge: readings in, InfluxDB points out.

Walking skeleton of issue 4: it decodes and stores; validation into the dead-letter topic,
alarm evaluation, spill and acknowledgement after storage come with the processor proper.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import aiomqtt
import msgspec

from monitor.storage.influx import InfluxSettings, InfluxWriter
from monitor.storage.points import batch_lines
from vigil.mqtt_settings import NODELAY_SOCKET_OPTIONS, MqttSettings
from vigil.wire import ReadingBatch, Topics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProcessorSettings:
    mqtt: MqttSettings
    influx: InfluxSettings
    client_id: str = "vigil-processor"


async def run_processor(
    settings: ProcessorSettings,
    *,
    ready: asyncio.Event | None = None,
    on_stored: Callable[[ReadingBatch], None] | None = None,
) -> None:
    topics = Topics(settings.mqtt.root)
    decoder = msgspec.json.Decoder(ReadingBatch)
    writer = InfluxWriter(settings.influx)
    try:
        async with aiomqtt.Client(
            settings.mqtt.host,
            settings.mqtt.port,
            username=settings.mqtt.username,
            password=settings.mqtt.password,
            identifier=settings.client_id,
            keepalive=settings.mqtt.keepalive_s,
            socket_options=NODELAY_SOCKET_OPTIONS,
        ) as client:
            await client.subscribe(topics.readings_filter(), qos=1)
            if ready:
                ready.set()
            async for message in client.messages:
                try:
                    batch = decoder.decode(message.payload)
                except msgspec.DecodeError as err:
                    log.warning("rejected a reading batch on %s: %s", message.topic, err)
                    continue
                await writer.write(batch_lines(batch))
                if on_stored:
                    on_stored(batch)
    finally:
        await writer.close()
