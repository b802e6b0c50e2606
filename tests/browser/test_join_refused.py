"""A page whose `join` the server refused does not stay deaf: it reconnects when told and joins again."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_project_chat import _send

pytestmark = [pytest.mark.browser]


@pytest.fixture
def server_env():
    # A second join within 3 s is refused (rate_limited, retryAfter ≤ 3): what a page meets when it
    # reconnects quickly, or when Redis is away for a moment.
    return {"SOCKET_RATE_DEFAULT": "1/3s"}


def test_a_page_whose_join_was_refused_joins_again_and_hears_new_messages(both_logged_in, project):
    client_page, provider_page = both_logged_in
    provider_page.open_live(f"/projects/{project.pk}")
    provider_page.page.reload()  # the second join within the window is refused
    provider_page.page.locator("#connection-status[data-state='connected']").wait_for()
    client_page.open_live(f"/projects/{project.pk}")

    # Sent after the provider's page has had time to be refused and come back.
    provider_page.page.wait_for_timeout(4_000)
    _send(client_page, "Are you there?")

    expect(provider_page.page.locator("#messages > li.theirs").filter(has_text="Are you there?")).to_have_count(1)
