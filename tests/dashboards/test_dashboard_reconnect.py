"""The dashboard's connection-lost banner, in headless Debian Chromium against a real `vigil hub`.

The hub runs as its own process (`vigil hub`) so the test can SIGKILL it: no close frame, the
browser just loses the socket, as after a crash or a pulled cable. The banner must say that
alarms may be missed, as an ARIA alert; once a hub is back on the same port (same accounts,
same token secret) the page must reconnect by itself, clear the banner and show new data.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
import pytest
from hub_testkit import (
    PASSWORD,
    Upstream,
    alarm_event,
    alarm_state,
    descriptor,
    http_get,
    upstream,
    write_users,
)
from playwright.async_api import Page, async_playwright, expect
from test_dashboard_browser import ARTIFACTS, launch_chromium

from vigil.services.endpoints import MqttEndpoint
from vigil.services.process import free_port, log_tail, spawn, stop_pid
from vigil.wire import Reading, ReadingBatch

pytestmark = pytest.mark.integration

REPO = Path(__file__).parents[2]
LOST = "Connection lost — alarms may be missed"
RECONNECT_TIMEOUT_MS = 30_000  # hub start (imports) + the page's backoff (at most 5 s)


@asynccontextmanager
async def hub_process(
    mosquitto: MqttEndpoint, root: str, port: int, tmp_path: Path, secret: str
) -> AsyncIterator[int]:
    """`vigil hub` on `port` until the block ends; yields its pid (SIGKILL it at will)."""
    env = {
        "VIGIL_MQTT_URL": f"mqtt://{mosquitto.host}:{mosquitto.port}",
        "VIGIL_HUB_TOKEN_SECRET": secret,
        "VIGIL_HUB_USERS": str(tmp_path / "users.toml"),
        "PYTHONPATH": str(REPO),
    }
    argv = [sys.executable, "-m", "vigil.cli", "hub", "--port", str(port)]
    log = tmp_path / "hub.log"
    pid = spawn([*argv, "--mqtt-root", root, "--no-audit"], log, env=env).pid
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = await http_get(port, "/health")
            except OSError:
                status = 0
            if status == 200:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"vigil hub never became healthy:\n{log_tail(log)}")
            await asyncio.sleep(0.1)
        yield pid
    finally:
        stop_pid(pid)


async def publish_hr(up: Upstream, session: str, seq: int, hr: float) -> None:
    batch = ReadingBatch(
        gateway="gw-1",
        session=session,
        device=f"hr-{session}",
        kind="hr_strap",
        readings=[Reading(seq=seq, t=time.time(), values={"hr": hr}, contact=True)],
    )
    await up.raw(up.topics.readings(session), msgspec.json.encode(batch))


async def sign_in(page: Page, url: str, user: str) -> None:
    await page.goto(url)
    await page.get_by_label("Account").fill(user)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#conn-state")).to_have_text("live")


async def test_connection_lost_banner_then_automatic_resume(
    mosquitto: MqttEndpoint, mqtt_root: str, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    write_users(tmp_path / "users.toml")
    port, secret = free_port(), secrets.token_urlsafe(48)
    url = f"http://127.0.0.1:{port}/"
    async with upstream(mosquitto, mqtt_root) as up, async_playwright() as pw:
        await up.session(descriptor("S-0001", ["dr-a"], patient="P-Ash"))
        context = await launch_chromium(pw, tmp_path / "chromium-profile")
        try:
            page = await context.new_page()
            card = page.locator('article[data-session="S-0001"]')
            hr = card.locator(".vitals .value").first
            banner = page.locator("#banner")
            async with hub_process(mosquitto, mqtt_root, port, tmp_path, secret) as pid:
                await sign_in(page, url, "dr-a")
                await publish_hr(up, "S-0001", 1, 84.0)
                await expect(hr).to_have_text("84 bpm")
                await expect(banner).to_be_hidden()

                os.killpg(pid, signal.SIGKILL)  # SIGKILL: no close frame, the socket just dies

                await expect(page.get_by_role("alert").filter(has_text=LOST)).to_be_visible()
                await expect(banner).to_contain_text(LOST)
                await expect(banner).to_have_attribute("role", "alert")  # implies aria-live
                await expect(banner).to_have_class("banner critical")
                await expect(page.locator("#conn-state")).to_have_text("disconnected")
                await page.screenshot(
                    path=str(ARTIFACTS / "dashboard-connection-lost.png"), full_page=True
                )

            async with hub_process(mosquitto, mqtt_root, port, tmp_path, secret):
                await expect(page.locator("#conn-state")).to_have_text(
                    "live", timeout=RECONNECT_TIMEOUT_MS
                )
                await expect(banner).to_be_hidden()
                await expect(page.get_by_role("alert").filter(has_text=LOST)).to_have_count(0)
                await expect(card).to_have_count(1)  # the retained session came back

                await publish_hr(up, "S-0001", 2, 111.0)
                await expect(hr).to_have_text("111 bpm")
                high = alarm_event("S-0001", 1)
                await up.alarm(high, alarm_state(high))
                alarm = page.locator(f'li.alarm[data-alarm="{high.alarm_id}"]')
                await expect(alarm.locator(".state")).to_have_text("active")
                await expect(page.locator("#login-view")).to_be_hidden()  # no second sign-in
                await page.screenshot(
                    path=str(ARTIFACTS / "dashboard-reconnected.png"), full_page=True
                )
        finally:
            await context.close()
