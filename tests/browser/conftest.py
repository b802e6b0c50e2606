"""A real daphne process on this run's test database, and Chromium (Debian's) driven by Playwright.

On PostgreSQL the server opens the very test database; on SQLite the in-memory test database is
copied into a file the server opens once the test has written its rows. Redis is used when
``REDIS_URL`` is set (under this run's channel-layer prefix); otherwise the one server process
uses its in-memory layer.
"""

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SERVER_START_TIMEOUT = 30
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_env(tmp_path: Path) -> dict[str, str]:
    database = connection.settings_dict
    if connection.vendor == "postgresql":
        credentials = quote(database["USER"] or "", safe="")
        if database.get("PASSWORD"):
            credentials += ":" + quote(database["PASSWORD"], safe="")
        host = f"{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
        return {"DATABASE_URL": f"postgres://{credentials}@{host}/{quote(database['NAME'], safe='')}"}
    snapshot = tmp_path / "server.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(snapshot) as target:
        connection.connection.backup(target)
    target.close()
    return {"SQLITE_PATH": str(snapshot)}


def _server_env(tmp_path: Path, overrides: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "SQLITE_PATH"}}
    env.update(overrides)
    env.update(_database_env(tmp_path))
    env.update(DJANGO_SETTINGS_MODULE="config.settings", MEDIA_ROOT=str(tmp_path / "media"), DEBUG="true")
    layer = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    if "prefix" in layer:
        env["CHANNEL_LAYER_PREFIX"] = layer["prefix"]
    return env


def _wait_until_serving(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"daphne did not answer within {SERVER_START_TIMEOUT}s:\n{log.read_text()}")


@pytest.fixture
def server_env() -> dict[str, str]:
    """Extra environment for the server process; a test module overrides it to change settings."""
    return {}


@pytest.fixture
def server_url(transactional_db, server_env, tmp_path, request):
    """A daphne process serving this test's rows; request it after the fixtures that write them."""
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / f"{request.node.name}-server.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
            cwd=REPO, env=_server_env(tmp_path, server_env), stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(process, url, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
