"""The dashboard in headless Debian Chromium against a real hub on a real Mosquitto.

Playwright drives the system browser (`/usr/bin/chromium`); it never downloads its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from pathlib import Path

import aiomqtt
import msgspec
import pytest
from hub_testkit import (
    PASSWORD,
    alarm_event,
    alarm_state,
    descriptor,
    hub_settings,
    running_hub,
    upstream,
)
from playwright.async_api import BrowserContext, Page, Playwright, async_playwright, expect

from vigil.wire import Command, DeviceStatus, Reading, ReadingBatch, Topics

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"


async def launch_chromium(pw: Playwright, profile: Path) -> BrowserContext:
    """Debian's Chromium, headless, with its own profile directory and a desktop viewport."""
    return await pw.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        headless=True,
        args=ARGS,
        viewport={"width": 1360, "height": 860},
    )


async def sign_in(page: Page, url: str, user: str) -> None:
    await page.goto(url)
    await page.get_by_label("Account").fill(user)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#conn-state")).to_have_text("live")


async def publish_vitals(up, session: str, start: float, hr: float, spo2: float) -> None:
    wave = lambda i, amplitude: amplitude * math.sin(i / 9)  # noqa: E731
    for device, kind, values in (
        (f"hr-{session}", "hr_strap", lambda i: {"hr": round(hr + wave(i, 6))}),
        (
            f"ox-{session}",
            "pulse_oximeter",
            lambda i: {"spo2": round(spo2 - abs(wave(i, 2))), "pr": round(hr + wave(i, 6))},
        ),
        (
            f"bp-{session}",
            "bp_cuff",
            lambda i: {"sbp": round(132.0 + i / 6), "dbp": round(84 + i / 15), "map": 100.0},
        ),
    ):
        readings = [
            Reading(seq=i, t=start + i * 20, values=values(i), contact=True) for i in range(90)
        ]
        batch = ReadingBatch(
            gateway="gw-1", session=session, device=device, kind=kind, readings=readings
        )
        await up.raw(up.topics.readings(session), msgspec.json.encode(batch))
        status = DeviceStatus(
            gateway="gw-1",
            session=session,
            device=device,
            kind=kind,
            state="connected",
            t=time.time(),
            battery_pct=81,
        )
        await up.raw(up.topics.device_status(device), msgspec.json.encode(status), retain=True)


@contextlib.asynccontextmanager
async def fake_engine(mosquitto, root: str):
    """Answers acknowledge commands the way the processor's engine does: event + state."""
    topics = Topics(root)
    async with aiomqtt.Client(
        mosquitto.host, mosquitto.port, identifier=f"{root}-engine"
    ) as client:
        await client.subscribe(f"{topics.base}/commands/+", qos=1)
        commands: list[Command] = []

        async def serve() -> None:
            async for message in client.messages:
                command = msgspec.json.decode(message.payload, type=Command)
                commands.append(command)
                if command.action != "acknowledge":
                    continue
                _, rule, n = command.alarm_id.split(":")
                raised = alarm_event(command.session, int(n), rule=rule)
                acked = alarm_event(
                    command.session, int(n), rule=rule, kind="acknowledged", by=command.by
                )
                state = alarm_state(raised, "acknowledged", acknowledged_by=command.by)
                await client.publish(
                    topics.alarm_events(command.session), msgspec.json.encode(acked), qos=1
                )
                await client.publish(
                    topics.alarm_state(command.session, command.alarm_id),
                    msgspec.json.encode(state),
                    qos=1,
                    retain=True,
                )

        task = asyncio.create_task(serve())
        try:
            yield commands
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_alarm_appears_is_acknowledged_and_the_supervisor_sees_it(
    mosquitto, mqtt_root, tmp_path
):
    ARTIFACTS.mkdir(exist_ok=True)
    async with (
        upstream(mosquitto, mqtt_root) as up,
        running_hub(hub_settings(mosquitto, mqtt_root, tmp_path)) as hub,
        fake_engine(mosquitto, mqtt_root) as commands,
        async_playwright() as pw,
    ):
        now = time.time()
        await up.session(descriptor("S-0001", ["dr-a"], patient="P-Ash", dose_time=now - 42 * 60))
        await up.session(
            descriptor(
                "S-0002", ["dr-b"], patient="P-Birch", devices=["ox-2"], dose_time=now - 75 * 60
            )
        )
        await publish_vitals(up, "S-0001", now - 1790, 84.0, 96.0)
        await publish_vitals(up, "S-0002", now - 1790, 72.0, 98.0)
        context = await launch_chromium(pw, tmp_path / "chromium-profile")
        try:
            clinician, supervisor = await context.new_page(), await context.new_page()
            await sign_in(clinician, hub.http + "/", "dr-a")
            await sign_in(supervisor, hub.http + "/", "sup-1")
            await expect(clinician.locator("article.card")).to_have_count(1)
            await expect(supervisor.locator("article.card")).to_have_count(2)

            high = alarm_event("S-0001", 1)
            medium = alarm_event(
                "S-0002",
                1,
                priority="medium",
                rule="sbp_rise",
                metric="sbp",
                value=172.0,
                message="session S-0002: sbp_rise (sbp rise over baseline >= 40 for 60 s): alarm; value 172",
            )
            await up.alarm(high, alarm_state(high))
            await up.alarm(medium, alarm_state(medium))

            alarm = clinician.locator(f'li.alarm[data-alarm="{high.alarm_id}"]')
            await expect(alarm).to_be_visible()
            await expect(alarm.locator(".badge")).to_have_text("HIGH")
            await expect(alarm.locator(".state")).to_have_text("active")
            await expect(clinician.locator("#announce-assertive")).to_contain_text("HIGH raised")
            await expect(clinician.locator('article[data-session="S-0001"] .badge')).to_have_text(
                "HIGH ALARM: spo2_low"
            )
            await expect(clinician.locator("#banner")).to_be_hidden()
            await expect(
                clinician.locator(f'li.alarm[data-alarm="{medium.alarm_id}"]')
            ).to_have_count(0)

            await alarm.get_by_role("button", name="Acknowledge").click()

            watched = supervisor.locator(f'li.alarm[data-alarm="{high.alarm_id}"]')
            await expect(watched.locator(".state")).to_have_text("acknowledged by dr-a")
            await expect(alarm.locator(".state")).to_have_text("acknowledged by dr-a")
            await expect(watched.get_by_role("button", name="Acknowledge")).to_be_disabled()
            await expect(
                supervisor.locator(f'li.alarm[data-alarm="{medium.alarm_id}"] .state')
            ).to_have_text("active")
            await supervisor.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
            await clinician.screenshot(
                path=str(ARTIFACTS / "dashboard-clinician.png"), full_page=True
            )
        finally:
            await context.close()
    assert [(c.action, c.by, c.session, c.alarm_id) for c in commands] == [
        ("acknowledge", "dr-a", "S-0001", high.alarm_id)
    ]
    assert [(r.action, r.by) for r in hub.audit.records if r.action == "acknowledge"] == [
        ("acknowledge", "dr-a")
    ]
