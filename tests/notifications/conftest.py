"""Notifications on the shared personas: alice (the client) hosts meetings on the project, bob (the provider)
is invited; emails go to Django's in-memory outbox unless a test sends through a real SMTP server (``inbox``:
an ``aiosmtpd`` server in the test process, Django's SMTP backend pointed at it). ``clock`` stops time (with
``time-machine``) for a test to move it; ``work_until_idle`` runs the worker's step in the test's thread."""

import email
import email.policy
from datetime import timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.utils import timezone

from bench.servers import free_port
from meetings import selectors as meeting_selectors
from meetings import services as meeting_services

SITE_URL = "https://chat.example.com"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE_URL
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


@pytest.fixture
def scheduled_meeting(client_user, project):
    """Tomorrow at 15:00 UTC, alice hosting, bob invited."""
    start = (timezone.now() + timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)
    meeting = meeting_services.meeting_create(
        user=client_user, project_id=project.pk, title="Design review", agenda="Pages <1> & <2>", scheduled_for=start
    )
    return meeting_selectors.meeting_get(meeting_id=meeting.pk)


class Inbox:
    """What an in-process SMTP server received. ``refuse`` answers the next that many messages with a
    temporary failure (451), as a mail server that is struggling does."""

    def __init__(self):
        self.envelopes = []
        self.refuse = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.refuse:
            self.refuse -= 1
            return "451 Try again later"
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=email.policy.default) for e in self.envelopes]


def smtp_server(handler) -> Controller:
    server = Controller(handler, hostname="127.0.0.1", port=free_port())
    server.start()
    return server


@pytest.fixture
def inbox(settings):
    """A real SMTP server in the test process, the one Django's SMTP backend sends to for this test."""
    received = Inbox()
    server = smtp_server(received)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield received
    server.stop()


@pytest.fixture
def clock():
    """Time stopped now; ``clock.shift(seconds)`` moves it on."""
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


def text_body(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_body(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()
