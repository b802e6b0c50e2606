"""The project page's conversation in a real browser: two users, two contexts, one live server."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]


def _messages(visitor):
    return visitor.page.locator("#messages > li")


def _send(visitor, text: str) -> None:
    composer = visitor.page.get_by_label("Message", exact=True)
    composer.fill(text)
    composer.press("Enter")


@pytest.fixture
def both_on_project(client_user, provider, project, visit):
    client_page = visit(client_user)
    provider_page = visit(provider)
    for visitor in (client_page, provider_page):
        visitor.open_live(f"/projects/{project.pk}")
    return client_page, provider_page


def test_message_arrives_live_typing_shows_and_clears_and_read_tick_follows(both_on_project):
    client_page, provider_page = both_on_project

    _send(client_page, "Hello Bob, the brief is attached.")
    own = _messages(client_page).filter(has_text="Hello Bob")
    expect(own).to_have_count(1)
    arrived = provider_page.page.locator("#messages > li.theirs").filter(has_text="Hello Bob, the brief is attached.")
    expect(arrived).to_have_count(1)

    # The provider's page is visible, so it marks the conversation read and the client sees the tick.
    expect(own).to_have_attribute("data-state", "read")
    expect(own.locator(".receipt")).to_have_text("✓✓ Read")

    provider_page.page.get_by_label("Message", exact=True).press_sequentially("On it", delay=30)
    typing = client_page.page.locator("#typing-indicator")
    expect(typing).to_have_text("bob is typing…")
    client_page.screenshot("chat-typing-client")
    # No more keystrokes: the indicator goes away by itself.
    expect(typing).to_have_text("", timeout=12_000)
    provider_page.screenshot("chat-read-provider")


def test_a_page_that_was_offline_gets_every_missed_message_once_in_order(both_on_project):
    client_page, provider_page = both_on_project

    provider_page.context.set_offline(True)
    status = provider_page.page.locator("#connection-status")
    expect(status).to_have_attribute("data-state", "offline")
    for text in ("first while away", "second while away", "third while away"):
        _send(client_page, text)
    expect(client_page.page.locator("#messages > li.mine[data-state]:not(.unconfirmed)")).to_have_count(3)
    expect(provider_page.page.locator("#messages > li")).to_have_count(0)
    provider_page.screenshot("reconnect-offline-provider")

    provider_page.context.set_offline(False)
    expect(status).to_have_attribute("data-state", "connected")
    expect(provider_page.page.locator("#messages > li .body")).to_have_text(
        ["first while away", "second while away", "third while away"]
    )
    provider_page.screenshot("reconnect-caught-up-provider")


def test_markup_in_a_message_is_shown_as_text(both_on_project):
    client_page, provider_page = both_on_project
    payload = "<img src=x onerror=alert(1)>"

    _send(client_page, payload)

    for visitor in (client_page, provider_page):
        expect(visitor.page.locator("#messages > li .body")).to_have_text([payload])
        expect(visitor.page.locator("#messages img")).to_have_count(0)
    provider_page.screenshot("markup-as-text-provider")
    assert client_page.dialogs == [] and provider_page.dialogs == []
