"""Ending sessions over REST: logout (one refresh token, the caller's session, or everywhere), password
change, and refresh-token rotation with reuse detection. Sockets closing with them: tests/realtime."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.concurrency import together
from tests.conftest import PASSWORD, requires_postgres

NEW_PASSWORD = "a-different-passphrase-58"


def _login(user, password: str = PASSWORD) -> dict:
    response = APIClient().post("/api/auth/token", {"username": user.username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _bearer(access: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return api


def _me_status(access: str) -> int:
    return _bearer(access).get("/api/auth/me").status_code


def _refresh(refresh: str):
    return APIClient().post("/api/auth/token/refresh", {"refresh": refresh}, format="json")


def _browser(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def _change_password(api, current: str = PASSWORD, new: str = NEW_PASSWORD):
    return api.post("/api/auth/password", {"currentPassword": current, "newPassword": new}, format="json")


# ---- logout -------------------------------------------------------------------------------------------


def test_logout_revokes_the_given_refresh_token(client_user):
    pair = _login(client_user)

    response = _bearer(pair["access"]).post("/api/auth/logout", {"refresh": pair["refresh"]}, format="json")

    assert response.status_code == 204
    assert _refresh(pair["refresh"]).status_code == 401


def test_logout_leaves_the_users_other_refresh_tokens_working(client_user):
    phone, laptop = _login(client_user), _login(client_user)

    response = _bearer(phone["access"]).post("/api/auth/logout", {"refresh": phone["refresh"]}, format="json")

    assert response.status_code == 204
    assert _refresh(laptop["refresh"]).status_code == 200


def test_logout_refuses_another_users_refresh_token(client_user, provider):
    bobs = _login(provider)

    response = _bearer(_login(client_user)["access"]).post(
        "/api/auth/logout", {"refresh": bobs["refresh"]}, format="json"
    )

    assert response.status_code == 400
    assert "refresh" in response.json()["fields"]
    assert _refresh(bobs["refresh"]).status_code == 200


def test_logout_by_token_without_a_refresh_token_is_refused(client_user):
    response = _bearer(_login(client_user)["access"]).post("/api/auth/logout", {}, format="json")

    assert response.status_code == 400
    assert "refresh" in response.json()["fields"]


def test_logout_ends_the_callers_session_only(client_user):
    browser, other_browser = _browser(client_user), _browser(client_user)

    response = browser.post("/api/auth/logout", {}, content_type="application/json")

    assert response.status_code == 204
    assert browser.get("/api/auth/me").status_code == 401
    assert other_browser.get("/api/auth/me").status_code == 200


def test_logout_refuses_anonymous(api, db):
    assert api.post("/api/auth/logout", {"everywhere": True}, format="json").status_code == 401


def test_logout_everywhere_revokes_every_token_and_session_of_the_user(client_user, provider):
    phone, laptop = _login(client_user), _login(client_user)
    browser = _browser(client_user)
    bobs = _login(provider)

    response = _bearer(phone["access"]).post("/api/auth/logout", {"everywhere": True}, format="json")

    assert response.status_code == 204
    assert [_me_status(pair["access"]) for pair in (phone, laptop)] == [401, 401]
    assert [_refresh(pair["refresh"]).status_code for pair in (phone, laptop)] == [401, 401]
    assert browser.get("/api/auth/me").status_code == 401
    assert _me_status(bobs["access"]) == 200
    assert _me_status(_login(client_user)["access"]) == 200


# ---- password change ----------------------------------------------------------------------------------


def test_a_password_change_revokes_the_old_tokens_and_answers_new_ones(client_user):
    old = _login(client_user)

    response = _change_password(_bearer(old["access"]))

    assert response.status_code == 200
    new = response.json()
    assert _me_status(old["access"]) == 401
    assert _refresh(old["refresh"]).status_code == 401
    assert _me_status(new["access"]) == 200
    assert _refresh(new["refresh"]).status_code == 200
    assert _login(client_user, NEW_PASSWORD)


def test_a_password_change_by_session_keeps_the_callers_session_and_ends_the_others(client_user):
    browser, other_browser = _browser(client_user), _browser(client_user)

    response = browser.post(
        "/api/auth/password",
        {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert browser.get("/api/auth/me").status_code == 200
    assert other_browser.get("/api/auth/me").status_code == 401


def test_a_password_change_refuses_a_wrong_current_password(client_user):
    pair = _login(client_user)

    response = _change_password(_bearer(pair["access"]), current="not-my-password")

    assert response.status_code == 400
    assert "currentPassword" in response.json()["fields"]
    assert _me_status(pair["access"]) == 200
    client_user.refresh_from_db()
    assert client_user.check_password(PASSWORD)


def test_a_password_change_applies_the_password_validators(client_user):
    pair = _login(client_user)

    response = _change_password(_bearer(pair["access"]), new="12345678")

    assert response.status_code == 400
    assert "newPassword" in response.json()["fields"]
    assert _me_status(pair["access"]) == 200


def test_a_password_change_refuses_anonymous(api, client_user):
    assert _change_password(api).status_code == 401


# ---- refresh rotation ---------------------------------------------------------------------------------


def test_a_refresh_answers_a_new_refresh_token_and_refuses_the_old_one_afterwards(client_user):
    first = _login(client_user)

    rotated = _refresh(first["refresh"])

    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != first["refresh"]
    assert _me_status(rotated.json()["access"]) == 200
    assert _refresh(rotated.json()["refresh"]).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_every_token_of_the_user(client_user, provider):
    first = _login(client_user)
    rotated = _refresh(first["refresh"]).json()
    bobs = _login(provider)

    reuse = _refresh(first["refresh"])

    assert reuse.status_code == 401
    assert _refresh(rotated["refresh"]).status_code == 401
    assert _me_status(rotated["access"]) == 401
    assert _me_status(bobs["access"]) == 200


def test_reusing_a_refresh_token_revoked_by_a_password_change_revokes_nothing_more(client_user):
    old = _login(client_user)
    _refresh(old["refresh"])
    new = _change_password(_bearer(old["access"])).json()

    assert _refresh(old["refresh"]).status_code == 401

    assert _me_status(new["access"]) == 200


@pytest.mark.django_db(transaction=True)
def test_of_racing_refreshes_of_one_token_one_wins_and_the_rest_count_as_reuse(client_user):
    requires_postgres()
    pair = _login(client_user)

    answers = together([lambda: _refresh(pair["refresh"]) for _ in range(6)])

    assert sorted(answer.status_code for answer in answers) == [200] + 5 * [401]
    (won,) = [answer.json() for answer in answers if answer.status_code == 200]
    assert _refresh(won["refresh"]).status_code == 401
