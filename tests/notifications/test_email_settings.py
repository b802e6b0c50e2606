"""Email settings from the environment (config.env): EMAIL_URL, or the usual EMAIL_HOST..., or the console."""

import pytest

from config import env
from config.env import EMAIL_BACKEND_CONSOLE, EMAIL_BACKEND_SMTP, EmailServer, ImproperlyConfiguredEnv


@pytest.mark.parametrize(
    "url, server",
    [
        ("console://", EmailServer()),
        ("smtp://mail.example.com", EmailServer(backend=EMAIL_BACKEND_SMTP, host="mail.example.com", port=25)),
        (
            "smtp://user:secret@mail.example.com:2525",
            EmailServer(backend=EMAIL_BACKEND_SMTP, host="mail.example.com", port=2525, user="user", password="secret"),
        ),
        (
            "smtp+tls://apikey:p%40ss%3Aword@smtp.example.com",
            EmailServer(
                backend=EMAIL_BACKEND_SMTP,
                host="smtp.example.com",
                port=587,
                user="apikey",
                password="p@ss:word",
                use_tls=True,
            ),
        ),
        (
            "smtps://me%40example.com:pw@smtp.example.com",
            EmailServer(
                backend=EMAIL_BACKEND_SMTP,
                host="smtp.example.com",
                port=465,
                user="me@example.com",
                password="pw",
                use_ssl=True,
            ),
        ),
        (
            "SMTP+TLS://smtp.example.com:25",
            EmailServer(backend=EMAIL_BACKEND_SMTP, host="smtp.example.com", port=25, use_tls=True),
        ),
    ],
)
def test_email_url_is_parsed(url, server):
    assert env.email_server_from_url(url) == server


@pytest.mark.parametrize(
    "url", ["http://mail.example.com", "mail.example.com:25", "smtp://", "smtp://mail.example.com:99999", "smtp://h:x/"]
)
def test_a_bad_email_url_stops_start_up(url):
    with pytest.raises(ImproperlyConfiguredEnv):
        env.email_server_from_url(url)


def test_email_url_wins_over_the_separate_variables(monkeypatch):
    monkeypatch.setenv("EMAIL_URL", "smtps://smtp.example.com")
    monkeypatch.setenv("EMAIL_HOST", "other.example.com")

    assert env.email_server_from_env().host == "smtp.example.com"


def test_the_separate_variables_configure_smtp(monkeypatch):
    monkeypatch.delenv("EMAIL_URL", raising=False)
    for name, value in {
        "EMAIL_HOST": "mail.example.com",
        "EMAIL_PORT": "587",
        "EMAIL_HOST_USER": "u",
        "EMAIL_HOST_PASSWORD": "p",
        "EMAIL_USE_TLS": "true",
    }.items():
        monkeypatch.setenv(name, value)

    assert env.email_server_from_env() == EmailServer(
        backend=EMAIL_BACKEND_SMTP, host="mail.example.com", port=587, user="u", password="p", use_tls=True
    )


def test_tls_and_ssl_together_stop_start_up(monkeypatch):
    monkeypatch.delenv("EMAIL_URL", raising=False)
    monkeypatch.setenv("EMAIL_HOST", "mail.example.com")
    monkeypatch.setenv("EMAIL_USE_TLS", "1")
    monkeypatch.setenv("EMAIL_USE_SSL", "1")

    with pytest.raises(ImproperlyConfiguredEnv):
        env.email_server_from_env()


def test_without_settings_emails_go_to_the_console(monkeypatch):
    for name in ("EMAIL_URL", "EMAIL_HOST"):
        monkeypatch.delenv(name, raising=False)

    assert env.email_server_from_env().backend == EMAIL_BACKEND_CONSOLE
