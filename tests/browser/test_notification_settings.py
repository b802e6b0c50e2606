"""The email settings page in a browser: reached from the dashboard, saved with the form, under the policy."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]


def test_a_user_switches_to_a_daily_digest_from_the_dashboard(provider, visit):
    visitor = visit(provider)
    page = visitor.page
    violations = []
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))

    page.get_by_role("link", name="Email settings").click()
    page.get_by_label("Daily: one digest of all unread conversations").check()
    page.get_by_label("Daily digest at").fill("07:30")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_have_text("Your email settings are saved.")
    visitor.screenshot("notification-settings")
    page.reload()
    expect(page.get_by_label("Daily: one digest of all unread conversations")).to_be_checked()
    expect(page.get_by_label("Daily digest at")).to_have_value("07:30")
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    assert violations == []
