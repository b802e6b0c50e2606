"""The pages work under the Content-Security-Policy: Chromium reports no violation while the dashboard, the
project page's live chat, the call screen (its SDK from AGORA_SDK_URL) and Swagger UI run."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_call_screen import FAKE_SDK, SDK_URL, live_meeting, server_env  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser]


def test_the_pages_run_without_a_policy_violation(client_user, project, live_meeting, visit):
    visitor = visit(client_user)
    page = visitor.page
    violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    page.route(SDK_URL, lambda route: route.fulfill(body=FAKE_SDK, content_type="text/javascript"))

    dashboard = page.goto("/")
    assert "script-src 'self' http://127.0.0.1:9;" in dashboard.headers["content-security-policy"]
    visitor.open_live(f"/projects/{project.pk}")
    composer = page.get_by_label("Message", exact=True)
    composer.fill("Under the policy")
    composer.press("Enter")
    expect(page.locator("#messages > li.mine").filter(has_text="Under the policy")).to_have_attribute(
        "data-state", "sent"
    )
    page.goto(f"/meetings/{live_meeting.pk}/call")
    expect(page.locator("#call-status")).to_have_text("You are in the call.")
    page.goto("/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()

    assert violations == []
