"""Errors of the stream processor."""


class MonitorError(Exception):
    """Root of every error raised by the `monitor` package."""


class StorageError(MonitorError):
    """InfluxDB refused or could not take a write; the message says which and why."""
