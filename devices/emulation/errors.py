"""Errors of the emulation package (the bleak backend's own errors live in `backend.errors`)."""

from __future__ import annotations


class EmulationError(Exception):
    """Root of the emulation errors."""


class ScenarioError(EmulationError):
    """A scenario file or table is invalid; the message names the file and the field."""


class HubError(EmulationError):
    """The radio hub could not be reached or started; the message carries the endpoint."""
