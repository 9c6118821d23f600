"""The radio hub: one virtual air shared by several processes.

bumble 0.0.236 has no link relay any more, so the hub owns the `LocalLink` and gives every
participant a controller of its own, reached as HCI over TCP. Unlike bumble's
`tcp-server:` transport (one client per port), the hub serves any number of participants on
one port: each TCP connection gets a fresh `EmulatedController`, which leaves the air
(its peers see reason 0x08) when the connection closes.

    python -m devices.emulation.hub --listen 127.0.0.1:0     # prints "listening on HOST:PORT"

Participants (a wearables process, the gateway) open devices with `HubAir(endpoint)`, the
gateway its adapter with `hub_central(endpoint)`. In-process devices can also join the hub's
own air directly (`Hub.open_device`), as `vigil emulate --start-hub` does with its wearables.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final, Self

from bumble import core
from bumble.device import Device
from bumble.transport import open_transport
from bumble.transport.common import PacketParser, Transport

from devices.emulation.addresses import address_for_log
from devices.emulation.backend import BumbleCentral
from devices.emulation.controller import EmulatedController
from devices.emulation.errors import HubError
from devices.emulation.radio import LocalRadio, device_address
from devices.emulation.signals import until_signalled

logger = logging.getLogger(__name__)

GATEWAY_ADDRESS: Final = "F0:00:00:00:00:01"
CONNECT_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class HubEndpoint:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> HubEndpoint:
        """`HOST:PORT` (port 0 lets the hub pick one when listening)."""
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit() or int(port) > 0xFFFF:
            raise HubError(f"expected HOST:PORT, got {text!r}")
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class _HciSink:
    """Controller to participant: HCI packets written to the TCP stream."""

    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self._transport = transport

    def on_packet(self, packet: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(packet)


class _Participant(asyncio.Protocol):
    """One TCP connection: a controller on the hub's air for as long as it lasts."""

    def __init__(self, hub: Hub, name: str) -> None:
        self._hub = hub
        self._name = name
        self._parser = PacketParser()
        self._controller: EmulatedController | None = None
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not isinstance(transport, asyncio.WriteTransport):
            transport.close()
            return
        self._transport = transport
        self._controller = self._hub.join(self, _HciSink(transport))
        self._parser.set_packet_sink(self._controller)
        logger.info("participant %s joined", self._name)

    @property
    def name(self) -> str:
        return self._name

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except core.InvalidPacketError:
            logger.warning("participant %s sent a malformed HCI packet", self._name)
            self._parser.reset()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._controller is not None:
            self._hub.leave(self, self._controller)
        logger.info("participant %s left%s", self._name, f": {exc}" if exc else "")


class Hub(LocalRadio):
    """A `LocalRadio` whose air is also reachable over TCP."""

    def __init__(self) -> None:
        super().__init__()
        self._server: asyncio.Server | None = None
        self._participants: set[_Participant] = set()
        self._names = itertools.count(1)

    async def listen(self, endpoint: HubEndpoint) -> HubEndpoint:
        """Start serving; returns the endpoint actually bound (port 0 picks one)."""
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: _Participant(self, f"p{next(self._names)}"), endpoint.host, endpoint.port
            )
        except OSError as error:
            raise HubError(f"cannot listen on {endpoint}: {error}") from error
        host, port = self._server.sockets[0].getsockname()[:2]
        bound = HubEndpoint(str(host), int(port))
        logger.info("hub listening on %s", bound)
        return bound

    def join(self, participant: _Participant, sink: _HciSink) -> EmulatedController:
        self._participants.add(participant)
        return EmulatedController(participant.name, link=self._link, host_sink=sink)

    def leave(self, participant: _Participant, controller: EmulatedController) -> None:
        controller.leave_air()
        self._participants.discard(participant)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            for participant in list(self._participants):
                participant.close()
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await self._server.wait_closed()
            self._server = None
        await super().aclose()


class HubAir:
    """Devices of this process, each with a controller in the hub process."""

    def __init__(self, endpoint: HubEndpoint) -> None:
        self._endpoint = endpoint
        self._opened: list[tuple[Device, Transport]] = []

    async def open_device(self, *, name: str, address: str, public: bool = False) -> Device:
        if public:
            raise HubError("hub controllers have no public address: use a random static one")
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                transport = await open_transport(f"tcp-client:{self._endpoint}")
        except (OSError, TimeoutError) as error:
            raise HubError(f"cannot reach the hub at {self._endpoint}: {error}") from error
        device = Device.with_hci(
            name, device_address(address, public=False), transport.source, transport.sink
        )
        self._opened.append((device, transport))
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await device.power_on()
        logger.debug("device %s joined the hub", address_for_log(address))
        return device

    async def aclose(self) -> None:
        for device, transport in reversed(self._opened):
            with contextlib.suppress(Exception):  # closing: a hub already gone is fine
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    await device.power_off()
            await transport.close()
        self._opened.clear()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()


@contextlib.asynccontextmanager
async def hub_central(
    endpoint: HubEndpoint, *, address: str = GATEWAY_ADDRESS
) -> AsyncIterator[BumbleCentral]:
    """The gateway's adapter on the hub: pass it as `bumble=` to bleak."""
    async with HubAir(endpoint) as air:
        central = BumbleCentral(await air.open_device(name="vigil-gateway", address=address))
        try:
            yield central
        finally:
            central.close()


async def serve(endpoint: HubEndpoint) -> None:
    """Run a hub until cancelled, announcing the bound endpoint on standard output."""
    hub = Hub()
    try:
        bound = await hub.listen(endpoint)
        sys.stdout.write(f"listening on {bound}\n")
        sys.stdout.flush()
        await asyncio.Event().wait()
    finally:
        await hub.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devices.emulation.hub", description=__doc__)
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: any)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        asyncio.run(until_signalled(serve(HubEndpoint.parse(args.listen))))
    except HubError as error:
        logger.error("%s", error)  # noqa: TRY400 (the message is the whole story)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
