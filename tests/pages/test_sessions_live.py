"""Signing in and out through the login pages on a real uvicorn process, where the middleware runs on the
event loop (kernel/async_middleware.py): the login saves a session the next request is known by, the logout
deletes it, and a form without its CSRF token is refused."""

import httpx
import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.live import FRAME_SECONDS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(client_user, live_servers):
    return live_servers.start(kind="uvicorn")


def _browser(server) -> httpx.Client:
    """A browser that has opened the login page, so it holds the CSRF cookie the form needs."""
    browser = httpx.Client(base_url=server.url, timeout=FRAME_SECONDS)
    assert browser.get(reverse("login")).status_code == 200
    return browser


def _csrf_form(browser: httpx.Client, **fields: str) -> dict[str, str]:
    return {"csrfmiddlewaretoken": browser.cookies[settings.CSRF_COOKIE_NAME], **fields}


def _signed_in(server, user) -> httpx.Client:
    browser = _browser(server)
    login = browser.post(reverse("login"), data=_csrf_form(browser, username=user.username, password=PASSWORD))
    assert (login.status_code, login.headers["location"]) == (302, reverse("dashboard"))
    return browser


def test_a_login_saves_the_session_that_the_next_request_is_known_by(server, client_user):
    browser = _signed_in(server, client_user)

    dashboard = browser.get(reverse("dashboard"))

    assert browser.cookies[settings.SESSION_COOKIE_NAME]
    assert dashboard.status_code == 200
    assert dashboard.headers["cache-control"] == "private, no-store"


def test_a_logout_deletes_the_session_so_the_old_cookie_no_longer_signs_in(server, client_user):
    browser = _signed_in(server, client_user)
    old_session = browser.cookies[settings.SESSION_COOKIE_NAME]

    logout = browser.post(reverse("logout"), data=_csrf_form(browser))
    with httpx.Client(base_url=server.url, cookies={settings.SESSION_COOKIE_NAME: old_session}) as replay:
        after = replay.get(reverse("dashboard"))

    assert logout.status_code == 302
    assert settings.SESSION_COOKIE_NAME not in browser.cookies
    assert (after.status_code, after.headers["location"]) == (302, f"{reverse('login')}?next={reverse('dashboard')}")


def test_a_login_form_without_its_csrf_token_is_refused(server, client_user):
    browser = _browser(server)

    refused = browser.post(reverse("login"), data={"username": client_user.username, "password": PASSWORD})

    assert refused.status_code == 403
    assert settings.SESSION_COOKIE_NAME not in browser.cookies
