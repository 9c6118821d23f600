"""Privacy helpers for logs and metrics: no direct identifiers leave the process."""

from __future__ import annotations

import hashlib


def mask_address(address: str) -> str:
    """A device MAC as a short stable hash: enough to tell devices apart in logs, no more."""
    digest = hashlib.sha256(address.upper().encode()).hexdigest()
    return f"mac#{digest[:8]}"
