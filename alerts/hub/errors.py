"""Exceptions raised by the clinicians' hub (`alerts.hub`).

Every exception derives from `HubError`, itself an `alerts.errors.AlertsError`. The hub's edges
never raise on bad input from clients or the broker: they answer with a typed protocol error or
count and log the message. Exceptions are kept for configuration and for the few operations a
caller must handle:

* `UsersFileError`: the accounts file cannot be read or is not valid; the message names the
  file and the offending entry.
* `TokenError`: a session token is malformed, forged or expired; `reason` is the short text
  sent to the client in the close frame (never the token itself).
* `UpstreamUnavailableError`: the broker did not take a command in time; the client retries.
"""

from alerts.errors import AlertsError


class HubError(AlertsError):
    """Root of every exception the hub raises."""


class UsersFileError(HubError):
    """The accounts file cannot be read or written, or one of its entries is not valid."""


class TokenError(HubError):
    """A token was refused. `reason` is safe to show to the client and to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UpstreamUnavailableError(HubError):
    """The MQTT broker is not connected or did not acknowledge a command in time."""
