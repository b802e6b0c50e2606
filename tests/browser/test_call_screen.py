"""The call screen in a real browser: token from our API, the SDK from AGORA_SDK_URL, or plain words.

There is no internet here, so the Agora SDK is either unreachable (the page must say so) or a small
stand-in served at the same URL (tests/browser/fake_agora_sdk.js) that records what the page asks of it.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from meetings import services as meeting_services
from meetings.agora import rtc_uid_for_user
from tests.browser.conftest import wait_for_value
from tests.meetings.conftest import AGORA_APP_CERTIFICATE, AGORA_APP_ID

pytestmark = [pytest.mark.browser]

# Nothing listens on port 9 (discard) here: fetching the SDK fails at once, as it does offline.
SDK_URL = "http://127.0.0.1:9/AgoraRTC_N.js"
FAKE_SDK = Path(__file__).with_name("fake_agora_sdk.js").read_text()


@pytest.fixture
def server_env():
    return {"AGORA_APP_ID": AGORA_APP_ID, "AGORA_APP_CERTIFICATE": AGORA_APP_CERTIFICATE, "AGORA_SDK_URL": SDK_URL}


@pytest.fixture
def live_meeting(client_user, project):
    return meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Design review", instant=True)


def test_the_call_screen_says_plainly_when_the_sdk_cannot_load(provider, live_meeting, visit):
    invitee = visit(provider)
    invitee.page.goto(f"/meetings/{live_meeting.pk}/call")

    notice = invitee.page.locator("#call-notice")
    expect(notice).to_contain_text(f"The video SDK could not be loaded from {SDK_URL}")
    expect(invitee.page.get_by_role("button", name="Mute")).to_be_disabled()
    invitee.screenshot("call-sdk-unavailable")


def test_the_call_screen_joins_with_our_token_shows_tiles_mutes_and_renews(client_user, provider, live_meeting, visit):
    host_uid, invitee_uid = rtc_uid_for_user(client_user.pk), rtc_uid_for_user(provider.pk)
    channel_name = live_meeting.channel_name
    invitee = visit(provider)
    invitee.page.route(SDK_URL, lambda route: route.fulfill(body=FAKE_SDK, content_type="text/javascript"))
    invitee.page.goto(f"/meetings/{live_meeting.pk}/call")

    expect(invitee.page.locator("#call-status")).to_have_text("You are in the call.")
    [joined] = invitee.page.evaluate("fakeAgora.calls.join")
    assert (joined["appId"], joined["channel"], joined["uid"]) == (AGORA_APP_ID, channel_name, invitee_uid)
    assert joined["token"].startswith("007")
    expect(invitee.page.locator("#local-tile .fake-video")).to_have_text("local camera")

    invitee.page.evaluate(f"fakeAgora.remoteVideo({host_uid})")
    remote = invitee.page.locator(f".tile.remote[data-uid='{host_uid}']")
    expect(remote.locator(".label")).to_have_text("alice")
    expect(remote.locator(".fake-video")).to_be_visible()

    invitee.page.get_by_role("button", name="Mute").click()
    expect(invitee.page.get_by_role("button", name="Unmute")).to_have_attribute("aria-pressed", "true")
    assert invitee.page.evaluate("fakeAgora.microphone.muted") is True

    invitee.page.evaluate("fakeAgora.emit('token-privilege-will-expire')")
    wait_for_value(invitee.page, "fakeAgora.calls.renewToken.length", 1)
    assert invitee.page.evaluate("fakeAgora.calls.renewToken[0]").startswith("007")
    invitee.screenshot("call-in-progress")

    invitee.page.get_by_role("button", name="Leave").click()
    invitee.page.wait_for_url(re.compile(rf"/projects/{live_meeting.project_id}$"))
