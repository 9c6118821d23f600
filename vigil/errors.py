"""Errors of the `vigil` package (CLI, settings, services harness)."""


class VigilError(Exception):
    """Root of every error raised by the `vigil` package."""


class ServiceError(VigilError):
    """A real service (Mosquitto, InfluxDB) could not be installed, built, started or reached.

    The message says what to do about it.
    """


class ConfigError(VigilError):
    """A configuration file or environment variable is invalid."""
