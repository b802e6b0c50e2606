"""The project page's conversation in a real browser: two users, two contexts, one live server."""

import json
import re
from pathlib import Path

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
def both_on_project(both_logged_in, project):
    for visitor in both_logged_in:
        visitor.open_live(f"/projects/{project.pk}")
    return both_logged_in


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


def test_a_message_the_socket_never_delivered_is_fetched_when_the_next_one_shows_a_gap(both_logged_in, project):
    client_page, provider_page = both_logged_in
    dropped = []

    def drop_first_new_message(page_socket):
        server = page_socket.connect_to_server()

        def from_server(frame):
            if not dropped and json.loads(frame)["event"] == "message:new":
                dropped.append(frame)
                return
            page_socket.send(frame)

        server.on_message(from_server)

    provider_page.page.route_web_socket("**/ws/", drop_first_new_message)
    for visitor in both_logged_in:
        visitor.open_live(f"/projects/{project.pk}")

    _send(client_page, "lost on the way")
    expect(client_page.page.locator("#messages > li.mine:not(.unconfirmed)")).to_have_count(1)
    _send(client_page, "arrives with seq 2")

    expect(provider_page.page.locator("#messages > li .body")).to_have_text(["lost on the way", "arrives with seq 2"])
    assert len(dropped) == 1
    provider_page.screenshot("gap-filled-provider")


def test_a_send_whose_answer_was_lost_is_retried_with_the_same_id_and_kept_once(both_logged_in, project):
    client_page, provider_page = both_logged_in
    posted_ids = []

    def lose_the_first_answer(route):
        posted_ids.append(route.request.post_data_json["clientMessageId"])
        if len(posted_ids) == 1:
            route.fetch()  # the server stores the message; the page never hears back
            route.abort("connectionreset")
        else:
            route.continue_()

    def hide_message_pushes(page_socket):
        # So the page cannot learn from the socket that its first attempt was stored: only a retry tells it.
        server = page_socket.connect_to_server()
        server.on_message(
            lambda frame: None if json.loads(frame)["event"] == "message:new" else page_socket.send(frame)
        )

    client_page.page.route("**/api/messages", lose_the_first_answer)
    client_page.page.route_web_socket("**/ws/", hide_message_pushes)
    for visitor in both_logged_in:
        visitor.open_live(f"/projects/{project.pk}")
    _send(client_page, "exactly once, please")

    expect(client_page.page.locator("#messages > li.mine:not(.unconfirmed)")).to_have_count(1)
    expect(client_page.page.locator("#messages > li")).to_have_count(1)
    expect(provider_page.page.locator("#messages > li .body")).to_have_text(["exactly once, please"])
    assert len(posted_ids) == 2 and posted_ids[0] == posted_ids[1]
    client_page.screenshot("retry-kept-once-client")


def test_a_file_sent_from_the_page_arrives_as_a_download_link(both_on_project):
    client_page, provider_page = both_on_project

    client_page.page.set_input_files(
        "#file-input", files=[{"name": "brief.txt", "mimeType": "text/plain", "buffer": b"Five pages, one CMS."}]
    )

    link = provider_page.page.get_by_role("link", name="brief.txt")
    expect(link).to_be_visible()
    with provider_page.page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "brief.txt"
    assert Path(download.value.path()).read_bytes() == b"Five pages, one CMS."
    provider_page.screenshot("file-link-provider")


def test_the_sender_edits_and_deletes_from_the_page_and_the_other_page_follows_live(both_on_project):
    client_page, provider_page = both_on_project
    _send(client_page, "see you at 10")
    _send(client_page, "wrong room")
    sent = client_page.page.locator("#messages > li.mine:not(.unconfirmed)")
    expect(sent).to_have_count(2)
    expect(provider_page.page.locator("#messages > li")).to_have_count(2)
    expect(provider_page.page.locator("#messages .message-actions")).to_have_count(0)  # not theirs to change

    sent.nth(0).get_by_role("button", name="Edit").click()
    editor = client_page.page.get_by_label("Edit message")
    editor.fill("see you at 10:30")
    client_page.page.get_by_role("button", name="Save").click()
    sent.nth(1).get_by_role("button", name="Delete").click()
    sent.nth(1).get_by_role("button", name="Really delete?").click()

    for visitor in both_on_project:
        messages = visitor.page.locator("#messages > li")
        expect(messages.locator(".body")).to_have_text(["see you at 10:30", "Message deleted"])
        expect(messages.nth(0).locator(".edited")).to_have_text("edited")
        expect(messages.nth(1)).to_have_class(re.compile(r"\bdeleted\b"))
    assert client_page.dialogs == []
    client_page.screenshot("edited-and-deleted-client")
    provider_page.screenshot("edited-and-deleted-provider")
