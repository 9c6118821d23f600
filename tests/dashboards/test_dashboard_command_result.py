"""A command the alarm engine refuses, in headless Debian Chromium against a real hub on a real
Mosquitto: the clinician who sent it must be told, in words and through a live region
(docs/websocket.md, command_result; docs/dashboard.md, refused commands).

The engine is the hub testkit's: it reads the command the hub forwards and answers it with a
`CommandResult` carrying the hub's `request_id`, as the processor's engine does.
"""

from __future__ import annotations

import re
import time

import pytest
from hub_testkit import (
    alarm_event,
    alarm_state,
    descriptor,
    engine,
    hub_settings,
    running_hub,
    upstream,
)
from playwright.async_api import async_playwright, expect
from test_dashboard_browser import ARGS, ARTIFACTS, CHROMIUM, sign_in

from vigil.wire import CommandResult, Topics

pytestmark = pytest.mark.integration

REFUSED_ACK = (
    "Acknowledgement refused: the alarm system does not know this alarm"
    " — the alarm is NOT acknowledged"
)


async def test_a_refused_acknowledgement_is_shown_and_announced_to_the_clinician(
    mosquitto, mqtt_root, tmp_path
):
    ARTIFACTS.mkdir(exist_ok=True)
    async with (
        upstream(mosquitto, mqtt_root) as up,
        running_hub(hub_settings(mosquitto, mqtt_root, tmp_path)) as hub,
        engine(mosquitto, mqtt_root) as eng,
        async_playwright() as pw,
    ):
        await up.session(descriptor("S-0001", ["dr-a"], patient="P-Ash"))
        high = alarm_event("S-0001", 1)
        await up.alarm(high, alarm_state(high))
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1360, "height": 860})
            await sign_in(page, hub.http + "/", "dr-a")
            alarm = page.locator(f'li.alarm[data-alarm="{high.alarm_id}"]')
            ack = alarm.get_by_role("button", name="Acknowledge")
            refusal = alarm.locator(".refusal")
            await expect(ack).to_be_enabled()
            await expect(refusal).to_be_hidden()

            await ack.focus()
            await page.keyboard.press("Enter")
            topic, command = await eng.command()
            # The hub's receipt counts the ack at once; the engine has not answered yet.
            await expect(ack).to_be_disabled()
            await eng.answer(command, accepted=False, reason="unknown_alarm")

            await expect(refusal).to_be_visible()
            await expect(refusal).to_have_text(re.compile(rf"^\d\d:\d\d:\d\d {REFUSED_ACK}$"))
            announced = page.locator("#announce-assertive")
            await expect(announced).to_have_attribute("aria-live", "assertive")
            await expect(announced).to_have_text(f"{REFUSED_ACK} ({high.alarm_id})")
            await expect(ack).to_be_enabled()  # not acknowledged: it can be tried again
            await expect(ack).to_have_accessible_description(re.compile(REFUSED_ACK))
            await expect(alarm.locator(".state")).to_have_text("active")
            newest = page.locator("#feed li").first
            await expect(newest).to_contain_text(f"REFUSED {REFUSED_ACK} ({high.alarm_id})")
            await page.screenshot(
                path=str(ARTIFACTS / "dashboard-command-refused.png"), full_page=True
            )

            # A reason this dashboard does not know (a newer engine's) is shown as it came,
            # also when the hub cannot match the result to a request (no request id).
            unknown = CommandResult(
                session="S-0001",
                alarm_id="S-0001:spo2_low:7",
                action="escalate",
                by="dr-a",
                t=time.time(),
                accepted=False,
                reason="session_closed",
            )
            await up.command_result(unknown)
            verbatim = "Escalation refused: session_closed (S-0001:spo2_low:7)"
            await expect(announced).to_have_text(verbatim)
            await expect(newest).to_contain_text(verbatim)

            # A new command on the alarm clears its refusal; an accepted one confirms quietly.
            await alarm.get_by_role("button", name="Pause audio 2 min").click()
            _, pause = await eng.command()
            await expect(refusal).to_be_hidden()
            await eng.answer(pause, accepted=True)
            await expect(page.get_by_role("status")).to_have_text(
                "Audio pause confirmed by the alarm system"
            )
            await expect(announced).to_have_text(verbatim)  # nothing new announced assertively
        finally:
            await browser.close()
    assert (topic, command.action, command.by, command.alarm_id) == (
        Topics(mqtt_root).commands("S-0001"),
        "acknowledge",
        "dr-a",
        high.alarm_id,
    )
    assert command.request_id is not None
    assert [
        (r.by, r.alarm_id, r.detail) for r in hub.audit.records if r.action == "command_rejected"
    ] == [
        ("dr-a", high.alarm_id, "acknowledge: unknown_alarm"),
        ("dr-a", "S-0001:spo2_low:7", "escalate: session_closed"),
    ]
