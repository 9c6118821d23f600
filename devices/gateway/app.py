"""The gateway process: one link per device, one publisher, one outbox between them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from devices.gateway.config import DeviceConfig, GatewaySettings
from devices.gateway.link import BleBackend, DeviceLink
from devices.gateway.observations import Observation
from devices.gateway.outbox import Outbox, OutboxError
from devices.gateway.publisher import Publisher
from devices.gateway.status import StatusBoard
from vigil.wire import Reading

log = logging.getLogger(__name__)
# How often the outbox's WAL is folded into its database, off the event loop (outbox.py).
CHECKPOINT_INTERVAL_S = 2.0


class Gateway:
    def __init__(
        self,
        settings: GatewaySettings,
        ble: BleBackend,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.outbox = Outbox(settings.outbox, max_readings=settings.outbox_max_readings)
        self.statuses = StatusBoard()
        self.publisher = Publisher(settings, self.outbox, self.statuses, clock=clock)
        self.links = [
            DeviceLink(device, settings, self.record, self.statuses, ble, clock=clock)
            for device in settings.devices
        ]
        self.outbox_failures = 0

    def record(
        self, device: DeviceConfig, observation: Observation, t: float, historical: bool
    ) -> None:
        def make(seq: int) -> Reading:
            return Reading(
                seq=seq,
                t=t,
                values=observation.values,
                t_dev=observation.t_dev,
                rr_ms=list(observation.rr_ms) or None,
                contact=observation.contact,
                flags=tuple(observation.flags),
                historical=historical,
            )

        try:
            self.outbox.append(
                device=device.id, session=device.session, kind=device.kind, make=make
            )
        except OutboxError:
            # Nothing can keep this reading: say so loudly and count it, never silently.
            self.outbox_failures += 1
            log.exception("%s: reading lost, the outbox cannot be written", device.id)
            return
        self.publisher.new_data.set()

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.publisher.run(), name="publisher")
                group.create_task(self._checkpoints(), name="outbox-checkpoints")
                for link in self.links:
                    group.create_task(link.run(), name=f"link-{link.device.id}")
        finally:
            self.outbox.close()

    async def _checkpoints(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL_S)
            await asyncio.to_thread(self.outbox.checkpoint)
