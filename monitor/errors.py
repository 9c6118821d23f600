"""Errors of the stream processor."""


class MonitorError(Exception):
    """Root of every error raised by the `monitor` package."""


class SettingsError(MonitorError):
    """A processor setting (environment variable or option) is missing or invalid."""


class StorageError(MonitorError):
    """InfluxDB refused or could not take a write; the message says which and why.

    `permanent` is true when retrying the same points cannot succeed (InfluxDB rejected them
    as malformed or conflicting): they are set aside instead of blocking the spill forever.
    """

    def __init__(self, message: str, *, status: int | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.permanent = permanent


class MqttUnavailableError(MonitorError):
    """The broker could not be reached, refused us, or dropped the connection."""
