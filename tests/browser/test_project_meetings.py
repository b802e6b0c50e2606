"""Meetings on the project page in a real browser: the ring, the answer, the end and its duration."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]


def test_an_instant_meeting_rings_is_accepted_and_ends_with_a_duration_on_both_pages(
    client_user, provider, project, visit
):
    host = visit(client_user)
    invitee = visit(provider)
    for visitor in (host, invitee):
        visitor.open_live(f"/projects/{project.pk}")

    host.page.get_by_role("button", name="Start a call now").click()

    ring = invitee.page.locator("#ring")
    expect(ring).to_be_visible()
    expect(ring.get_by_role("heading")).to_have_text("alice is calling")
    invitee.screenshot("meeting-ringing-invitee")
    ring.get_by_role("button", name="Accept").click()
    expect(ring).to_be_hidden()

    host_meeting = host.page.locator("#meetings > li.meeting")
    expect(host_meeting.locator(".answer", has_text="bob")).to_have_text("bob — accepted")
    expect(host_meeting.get_by_role("link", name="Join call")).to_be_visible()
    host.screenshot("meeting-accepted-host")

    host_meeting.get_by_role("button", name="End meeting").click()

    for visitor in (host, invitee):
        ended = visitor.page.locator("#meetings > li.meeting")
        expect(ended).to_have_attribute("data-status", "COMPLETED")
        expect(ended.locator(".duration")).to_have_text(re.compile(r"^Lasted (under a second|\d+ s)$"))
    invitee.screenshot("meeting-completed-invitee")
    host.screenshot("meeting-completed-host")


def test_a_call_rings_while_the_conversation_history_cannot_load(client_user, provider, project, visit):
    host = visit(client_user)
    invitee = visit(provider)
    history = re.compile(rf"/api/messages/conversation/{project.pk}(\?.*)?$")
    invitee.page.route(history, lambda route: route.fulfill(status=503, json={"detail": "Try again later."}))
    for visitor in (host, invitee):
        visitor.open_live(f"/projects/{project.pk}")
    expect(invitee.page.locator("#composer-error")).to_contain_text("Could not load the conversation")

    host.page.get_by_role("button", name="Start a call now").click()

    ring = invitee.page.locator("#ring")
    expect(ring.get_by_role("heading")).to_have_text("alice is calling")
    expect(invitee.page.locator("#meetings > li.meeting")).to_have_attribute("data-status", "ACTIVE")


def test_ending_a_meeting_shows_a_centred_system_line_on_the_other_users_page(client_user, provider, project, visit):
    host = visit(client_user)
    invitee = visit(provider)
    for visitor in (host, invitee):
        visitor.open_live(f"/projects/{project.pk}")
    host.page.get_by_role("button", name="Start a call now").click()
    host_meeting = host.page.locator("#meetings > li.meeting")
    expect(host_meeting).to_have_attribute("data-status", "ACTIVE")

    host_meeting.get_by_role("button", name="End meeting").click()

    lines = invitee.page.locator("#messages > li.message.system")
    expect(lines).to_have_count(2)
    expect(lines.nth(0)).to_contain_text(re.compile(r"^alice started the meeting “.+”\."))
    expect(lines.nth(1)).to_contain_text(re.compile(r"^The meeting “.+” ended after less than a minute\."))
    expect(lines.nth(1)).to_have_css("align-self", "center")
    expect(lines.locator(".sender, .receipt")).to_have_count(0)
    invitee.screenshot("meeting-ended-system-line")
