"""Usernames are ASCII after NFKC and unlike any other user's (case and confusable characters); display
names keep no bidi or zero-width characters."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from tests.concurrency import together
from tests.conftest import make_user, requires_postgres

pytestmark = pytest.mark.django_db

STRONG = "an-unusual-passphrase-91"


def _register(api, username: str):
    return api.post(
        "/api/auth/register",
        {"username": username, "email": "new@example.com", "password": STRONG, "role": "client"},
        format="json",
    )


@pytest.mark.parametrize(
    "username",
    ["<b>dana</b>", "da na", "da\u200bna", "\u202eanad", "dana\u2066", "d\u0430na", "dana\u0301"],
    ids=[
        "html",
        "space",
        "zero-width-space",
        "right-to-left-override",
        "bidi-isolate",
        "cyrillic-a",
        "combining-accent",
    ],
)
def test_register_refuses_a_username_outside_ascii_letters_digits_and_at_dot_plus_dash_underscore(api, username):
    response = _register(api, username)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "username" in response.json()["fields"]
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "username",
    ["alice", "Alice", "ALICE", "al1ce", "aIice", "\uff41\uff4c\uff49\uff43\uff45"],
    ids=["same", "capitalised", "upper-case", "digit-one-for-i", "capital-i-for-l", "fullwidth"],
)
def test_register_refuses_a_look_alike_of_an_existing_username(api, client_user, username):
    response = _register(api, username)

    assert response.status_code == 400
    assert response.json()["fields"]["username"] == ["This username is taken, or looks like one that is."]
    assert User.objects.count() == 1


def test_register_refuses_m_spelled_r_n(api, db):
    make_user("marta")

    assert _register(api, "rnarta").status_code == 400


def test_register_refuses_a_homoglyph_of_an_existing_username(api, db):
    make_user("client")

    response = _register(api, "cli\u0435nt")  # a Cyrillic е

    assert response.status_code == 400
    assert User.objects.filter(username__startswith="cli").count() == 1


def test_a_fullwidth_username_is_registered_as_ascii_and_logs_in_on_the_login_page(api, db):
    response = _register(api, "\uff44\uff41\uff4e\uff41")  # fullwidth d, a, n, a

    assert response.status_code == 201
    assert response.json()["username"] == "dana"
    login = Client().post("/login", {"username": "dana", "password": STRONG})
    assert login.status_code == 302 and login.url == "/"


def test_register_accepts_a_name_unlike_any_other(api, client_user):
    response = _register(api, "alice.smith+work@home-1")

    assert response.status_code == 201
    assert User.objects.filter(username="alice.smith+work@home-1").exists()


def test_display_names_edited_in_the_admin_lose_bidi_and_zero_width_characters(db):
    admin_user = make_user("root", is_staff=True, is_superuser=True)
    user = make_user("dana")
    browser = Client()
    browser.force_login(admin_user)

    response = browser.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {
            "username": "dana",
            "first_name": "\u202eanaD\u200b",
            "last_name": "Sm\u200dith\u2066",
            "email": "dana@example.com",
            "is_active": "on",
            "role": "client",
            "provider_status": "",
            "date_joined_0": "2026-11-30",
            "date_joined_1": "12:00:00",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert (user.first_name, user.last_name) == ("anaD", "Smith")


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_look_alikes_make_one_user():
    requires_postgres()
    names = ["marta", "Marta", "rnarta", "MARTA", "rnArta", "marta", "RNARTA", "mArta"]

    responses = together([lambda name=name: _register(APIClient(), name) for name in names])

    assert sorted(response.status_code for response in responses) == [201] + [400] * (len(names) - 1)
    assert User.objects.count() == 1
