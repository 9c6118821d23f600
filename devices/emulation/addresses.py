"""Bluetooth addresses as the emulation shows them: normalised, and hashed for logs."""

from __future__ import annotations

import hashlib
import re

_ADDRESS = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
_TYPE_SUFFIXES = ("/P", "/R")


def normalise_address(address: str) -> str:
    """Upper-case `AA:BB:CC:DD:EE:FF`, without bumble's `/P` (public) type suffix.

    Raises `ValueError` when the text is not a 48-bit address.
    """
    text = address.strip().upper().replace("-", ":")
    for suffix in _TYPE_SUFFIXES:
        text = text.removesuffix(suffix)
    if not _ADDRESS.match(text):
        raise ValueError(f"not a Bluetooth address: {address!r}")
    return text


def address_for_log(address: str) -> str:
    """First 8 hex digits of the SHA-256 of the normalised address: stable, not reversible."""
    try:
        text = normalise_address(address)
    except ValueError:
        text = address
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def static_random_address(seed_text: str) -> str:
    """A deterministic static random address (two top bits set) derived from `seed_text`."""
    digest = bytearray(hashlib.sha256(seed_text.encode()).digest()[:6])
    digest[0] |= 0xC0
    return ":".join(f"{byte:02X}" for byte in digest)
