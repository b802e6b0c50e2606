"""Socket tickets are issued at most THROTTLE_WS_TICKET per user, and spent or expired ones do not pile up:
issuing purges the caller's, ``manage.py ws_tickets_purge`` everyone's."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import WebSocketTicket
from accounts.services import ws_ticket_issue, ws_ticket_redeem

pytestmark = pytest.mark.django_db

TICKETS_PER_HOUR = 3


@pytest.fixture
def ticket_rate(settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "ws_ticket": f"{TICKETS_PER_HOUR}/h"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}


def _issue(api, user):
    return api.as_user(user).post("/api/auth/ws-ticket")


def _expired_ticket(user) -> WebSocketTicket:
    _, row = ws_ticket_issue(user=user)
    WebSocketTicket.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    return row


def _spent_ticket(user) -> WebSocketTicket:
    ticket, row = ws_ticket_issue(user=user)
    assert ws_ticket_redeem(ticket=ticket).user == user
    return row


def test_tickets_past_the_rate_are_answered_429_with_retry_after(api, client_user, ticket_rate):
    *admitted, refused = [_issue(api, client_user) for _ in range(TICKETS_PER_HOUR + 1)]

    assert [response.status_code for response in admitted] == [201] * TICKETS_PER_HOUR
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert WebSocketTicket.objects.filter(user=client_user).count() == TICKETS_PER_HOUR


def test_another_user_gets_tickets_while_one_is_throttled(api, client_user, provider, ticket_rate):
    assert [_issue(api, client_user).status_code for _ in range(TICKETS_PER_HOUR + 1)][-1] == 429

    assert _issue(api, provider).status_code == 201


def test_issuing_a_ticket_purges_the_callers_spent_and_expired_tickets(client_user, provider):
    spent, expired, live = (
        _spent_ticket(client_user),
        _expired_ticket(client_user),
        ws_ticket_issue(user=client_user)[1],
    )
    others_expired = _expired_ticket(provider)

    _, fresh = ws_ticket_issue(user=client_user)

    remaining = set(WebSocketTicket.objects.values_list("pk", flat=True))
    assert remaining == {live.pk, fresh.pk, others_expired.pk}
    assert not {spent.pk, expired.pk} & remaining


def test_reconnecting_many_times_leaves_one_ticket_row(client_user):
    for _ in range(50):
        _spent_ticket(client_user)

    assert WebSocketTicket.objects.filter(user=client_user).count() == 1


def test_the_purge_command_deletes_everyones_spent_and_expired_tickets_and_keeps_live_ones(client_user, provider):
    _spent_ticket(client_user)
    _expired_ticket(provider)
    _, live = ws_ticket_issue(user=provider)

    call_command("ws_tickets_purge", stdout=None)

    assert list(WebSocketTicket.objects.values_list("pk", flat=True)) == [live.pk]
