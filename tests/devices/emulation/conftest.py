"""Fixtures for the emulation tests: an in-process air, a gateway central, a probe peripheral."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from devices.emulation.backend import BumbleCentral
from devices.emulation.radio import LocalRadio

from .probe import GATEWAY_ADDRESS, Probe, make_probe


@pytest.fixture(autouse=True)
async def no_stray_tasks() -> AsyncIterator[None]:
    """Every test leaves the loop as it found it: no task of its own still pending."""
    before = asyncio.all_tasks()
    yield
    for _ in range(5):
        await asyncio.sleep(0)
    stray = {t for t in asyncio.all_tasks() - before if not t.done()}
    if (current := asyncio.current_task()) is not None:
        stray.discard(current)
    assert not stray, f"tasks left running: {stray}"


@pytest.fixture
async def radio() -> AsyncIterator[LocalRadio]:
    async with LocalRadio() as air:
        yield air


@pytest.fixture
async def central(radio: LocalRadio) -> AsyncIterator[BumbleCentral]:
    device = await radio.open_device(name="gateway", address=GATEWAY_ADDRESS)
    adapter = BumbleCentral(device)
    yield adapter
    adapter.close()


@pytest.fixture
async def probe(radio: LocalRadio) -> Probe:
    return await make_probe(radio)
