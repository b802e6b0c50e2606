"""Password guessing on every login path (API token, /login, /admin/login/, /api-auth/login/): past the
limit per (account, address) or per address an attempt is refused even with the right password, while
the owner logging in from another address is admitted."""

import ipaddress
import json

import pytest
from django.test import Client

from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

API_TOKEN, PAGES_LOGIN, ADMIN_LOGIN, API_AUTH_LOGIN = "/api/auth/token", "/login", "/admin/login/", "/api-auth/login/"
LOGIN_PATHS = [API_TOKEN, PAGES_LOGIN, ADMIN_LOGIN, API_AUTH_LOGIN]
# Documentation addresses (RFC 5737): they only ever appear as REMOTE_ADDR of a test client's request.
STRANGER, OWNER_AT_HOME = "198.51.100.7", "203.0.113.9"
PER_ACCOUNT_AND_ADDRESS, PER_ADDRESS = 3, 6
REFUSED_TEXT = "Too many failed login attempts"


@pytest.fixture(autouse=True)
def login_rates(settings):
    # Hour-long windows: a burst in a test never straddles two of them.
    settings.LOGIN_RATE_PER_ACCOUNT_AND_ADDRESS = f"{PER_ACCOUNT_AND_ADDRESS}/h"
    settings.LOGIN_RATE_PER_ADDRESS = f"{PER_ADDRESS}/h"


@pytest.fixture
def owner(client_user, staff):
    """Who logs in on each path: the admin only admits staff."""
    return lambda path: staff if path == ADMIN_LOGIN else client_user


def _post(path: str, username: str, password: str, address: str):
    browser = Client(REMOTE_ADDR=address)
    if path == API_TOKEN:
        body = json.dumps({"username": username, "password": password})
        return browser.post(path, body, content_type="application/json")
    return browser.post(path, {"username": username, "password": password})


def _attempt(path: str, username: str, password: str = "wrong-password", address: str = STRANGER) -> str:
    """``admitted``, ``wrong`` (credentials refused) or ``refused`` (the attempt limit)."""
    response = _post(path, username, password, address)
    if response.status_code in (200, 302) and (path == API_TOKEN or response.status_code == 302):
        return "admitted"
    if response.status_code == 429 or REFUSED_TEXT in response.content.decode():
        return "refused"
    assert response.status_code in (200, 401), response.content
    return "wrong"


@pytest.mark.parametrize("path", LOGIN_PATHS)
def test_guesses_past_the_limit_are_refused_even_with_the_right_password(path, owner):
    username = owner(path).username
    guesses = [_attempt(path, username) for _ in range(PER_ACCOUNT_AND_ADDRESS)]

    assert guesses == ["wrong"] * PER_ACCOUNT_AND_ADDRESS
    assert _attempt(path, username, PASSWORD) == "refused"


@pytest.mark.parametrize("path", LOGIN_PATHS)
def test_a_strangers_guesses_do_not_lock_the_owner_out_from_their_own_address(path, owner):
    username = owner(path).username
    for _ in range(PER_ACCOUNT_AND_ADDRESS):
        _attempt(path, username)

    assert _attempt(path, username, PASSWORD, address=STRANGER) == "refused"
    assert _attempt(path, username, PASSWORD, address=OWNER_AT_HOME) == "admitted"


@pytest.mark.parametrize("path", LOGIN_PATHS)
def test_spraying_one_password_across_accounts_from_one_address_is_refused_past_the_address_limit(path, owner):
    sprayed = [_attempt(path, f"user{number}", "Winter2026!") for number in range(PER_ADDRESS)]

    assert sprayed == ["wrong"] * PER_ADDRESS
    assert _attempt(path, owner(path).username, PASSWORD) == "refused"
    assert _attempt(path, owner(path).username, PASSWORD, address=OWNER_AT_HOME) == "admitted"


def test_a_refused_api_login_answers_429_rate_limited_with_retry_after(client_user):
    for _ in range(PER_ACCOUNT_AND_ADDRESS):
        _attempt(API_TOKEN, "alice")

    response = _post(API_TOKEN, "alice", PASSWORD, STRANGER)

    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 3600
    assert "access" not in response.json()


@pytest.mark.parametrize("path", [PAGES_LOGIN, ADMIN_LOGIN, API_AUTH_LOGIN])
def test_a_refused_form_login_says_why_on_the_form_and_logs_nobody_in(path, owner):
    username = owner(path).username
    for _ in range(PER_ACCOUNT_AND_ADDRESS):
        _attempt(path, username)

    response = _post(path, username, PASSWORD, STRANGER)

    assert response.status_code == 200
    assert f"{REFUSED_TEXT}. Try again in" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_successful_logins_do_not_use_up_the_budget(client_user):
    logins = 2 * PER_ADDRESS
    outcomes = [_attempt(API_TOKEN, "alice", PASSWORD) for _ in range(logins)]

    assert outcomes == ["admitted"] * logins


def test_account_names_count_case_insensitively(client_user):
    for username in ["alice", "ALICE", "Alice "][:PER_ACCOUNT_AND_ADDRESS]:
        _attempt(API_TOKEN, username)

    assert _attempt(API_TOKEN, "alice", PASSWORD) == "refused"


def test_guesses_at_one_account_leave_another_accounts_login_alone(client_user):
    make_user("dora")
    for _ in range(PER_ACCOUNT_AND_ADDRESS):
        _attempt(API_TOKEN, "alice")

    assert _attempt(API_TOKEN, "alice", PASSWORD) == "refused"
    assert _attempt(API_TOKEN, "dora", PASSWORD) == "admitted"


def test_behind_a_trusted_proxy_attempts_count_by_the_address_the_proxy_saw(settings, client_user):
    proxy = "192.0.2.10"
    settings.TRUSTED_PROXIES = [ipaddress.ip_network(proxy)]

    def through_proxy(seen: str, password: str = "wrong-password") -> str:
        response = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=seen).post(
            API_TOKEN, json.dumps({"username": "alice", "password": password}), content_type="application/json"
        )
        return {200: "admitted", 401: "wrong", 429: "refused"}[response.status_code]

    for _ in range(PER_ACCOUNT_AND_ADDRESS):
        through_proxy(STRANGER)

    assert through_proxy(STRANGER, PASSWORD) == "refused"
    assert through_proxy(OWNER_AT_HOME, PASSWORD) == "admitted"
