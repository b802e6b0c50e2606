"""A real daphne process on this run's test database (tests/live.py), and Chromium (Debian's) driven
by Playwright. Redis is used when ``REDIS_URL`` is set; otherwise the one server process uses its
in-memory layer."""

import os
import time
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
UI_TIMEOUT_MS = 10_000


@pytest.fixture
def browser():
    """Chromium for one test; request it after every fixture that touches the database.

    Playwright's sync API keeps its event loop registered as running in this thread, so from here
    on Django refuses ORM calls (and a connection opened anyway would belong to another context and
    outlive the test): tests read what the pages show, not the database.
    """
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: install Debian's chromium ({CHROMIUM})")
        pytest.skip(f"needs Chromium at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    # A loaded CI machine is slow to show things; a wrong page still fails, only later.
    expect.set_options(timeout=UI_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra environment for the server process; a test module overrides it to change settings."""
    return {}


@pytest.fixture
def server_url(live_servers, server_env):
    """A daphne process serving this test's rows; request it after the fixtures that write them."""
    return live_servers.start(env=server_env, label="browser").url


class Visitor:
    """One user in their own browser context, logged in through the login form."""

    def __init__(self, browser, base_url: str, user):
        self.user = user
        self.base_url = base_url
        self.context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
        self.context.set_default_timeout(UI_TIMEOUT_MS)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.page.on("dialog", self._record_dialog)
        self.page.goto("/login")
        self.page.get_by_label("Username").fill(user.username)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(f"{base_url}/")

    def _record_dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open_live(self, path: str) -> None:
        """Open a page and wait until its socket is connected."""
        self.page.goto(path)
        self.page.locator("#connection-status[data-state='connected']").wait_for()

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def visit(server_url, browser):
    """``visit(user)`` logs a user in, in a browser context of their own."""
    visitors = []

    def open_as(user) -> Visitor:
        visitor = Visitor(browser, server_url, user)
        visitors.append(visitor)
        return visitor

    yield open_as
    for visitor in visitors:
        visitor.context.close()


@pytest.fixture
def both_logged_in(client_user, provider, project, visit):
    """The client and the provider, each logged in in a browser context of their own."""
    return visit(client_user), visit(provider)


def wait_for_value(page, expression: str, expected, timeout_seconds: float = 10.0) -> None:
    """Poll ``expression`` until it equals ``expected``. ``page.wait_for_function`` would build its predicate
    with ``eval`` inside the page whenever it has to poll, which the pages' Content-Security-Policy refuses;
    ``page.evaluate`` runs through DevTools, which the policy does not apply to."""
    deadline = time.monotonic() + timeout_seconds
    while (value := page.evaluate(expression)) != expected:
        assert time.monotonic() < deadline, f"{expression} is {value!r}, expected {expected!r}"
        page.wait_for_timeout(50)
