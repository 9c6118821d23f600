"""The virtual controller: bumble's `Controller` with the two gaps the emulation needs closed.

bumble 0.0.236's controller

1. answers `LE Create Connection Cancel` but never completes the pending connection, so a
   host that connects to an absent device with a timeout waits for ever (bumble's
   `connect_le` awaits the completion after cancelling) and every later connect fails with
   "command disallowed";
2. keeps a controller's links when it leaves the air, so its peers stay "connected" until an
   ATT timeout;
3. drops the data of a peripheral that advertises with its public address: `LocalLink`
   stamps LE data with the sender's random address, which does not match the link.

`EmulatedController` completes a cancelled connect with `UNKNOWN_CONNECTION_IDENTIFIER`, as
the Core specification (Vol 4, Part E, 7.8.13) requires, and `leave_air()` ends every link of
a departing controller on the peer side with reason 0x08 (connection timeout), which is what
a real central sees when a peripheral walks out of range, and LE data is matched to its link
by address bytes when the typed address does not match.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bumble import hci, ll
from bumble.controller import Controller
from bumble.core import PhysicalTransport

if TYPE_CHECKING:
    from bumble.link import LocalLink
    from bumble.transport.common import TransportSink, TransportSource

logger = logging.getLogger(__name__)

CONNECTION_TIMEOUT = hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR


class EmulatedController(Controller):
    """A bumble virtual controller attached to a `LocalLink`."""

    def __init__(
        self,
        name: str,
        *,
        link: LocalLink,
        host_source: TransportSource | None = None,
        host_sink: TransportSink | None = None,
        public_address: str | None = None,
    ) -> None:
        super().__init__(
            name,
            host_source=host_source,
            host_sink=host_sink,
            link=link,
            public_address=public_address,
        )
        self._air = link
        self._on_air = True

    def send_advertising_pdu(self, packet: ll.AdvertisingPdu) -> None:
        if self._on_air:  # the advertising timers outlive `leave_air`
            super().send_advertising_pdu(packet)

    def on_hci_le_create_connection_cancel_command(
        self, _command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        failure = hci.HCI_LE_Connection_Complete_Event(
            status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
            connection_handle=0,
            role=hci.Role.CENTRAL,
            peer_address_type=pending.peer_address.address_type,
            peer_address=pending.peer_address,
            connection_interval=0,
            peripheral_latency=0,
            supervision_timeout=0,
            central_clock_accuracy=0,
        )
        # Queued behind the Command Complete that the caller sends for this command.
        asyncio.get_running_loop().call_soon(self.send_hci_packet, failure)
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def on_link_acl_data(
        self, sender_address: hci.Address, transport: PhysicalTransport, data: bytes
    ) -> None:
        if transport == PhysicalTransport.LE and sender_address not in self.le_connections:
            sender_address = next(
                (a for a in self.le_connections if bytes(a) == bytes(sender_address)),
                sender_address,
            )
        super().on_link_acl_data(sender_address, transport, data)

    def leave_air(self) -> None:
        """Drop off the link; every peer sees its link to us end with a connection timeout."""
        self._on_air = False
        for connection in list(self.le_connections.values()):
            peer = self._air.find_le_controller(connection.peer_address)
            ours = bytes(connection.self_address)
            if peer is not None and any(bytes(a) == ours for a in peer.le_connections):
                connection.send_ll_control_pdu(ll.TerminateInd(CONNECTION_TIMEOUT))
        self.le_connections.clear()
        self.pending_le_connection = None
        if self in self._air.controllers:
            self._air.remove_controller(self)
        logger.debug("controller %s left the air", self.name)
