"""Writes on users: registration, provider approval, WebSocket tickets, cutting off a deactivated user."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import events
from accounts.models import User, WebSocketTicket
from config.errors import Conflict, Invalid, NotFound
from realtime.publish import publish_on_commit, user_group


@transaction.atomic
def user_register(*, username: str, email: str, password: str, role: str) -> User:
    if role not in User.Role.values:
        raise Invalid(f"Role must be one of {', '.join(User.Role.values)}.", field="role")
    if User.objects.filter(username__iexact=username).exists():
        raise Invalid("This username is taken.", field="username")
    user = User(username=username, email=email, role=role)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), field="password") from exc
    if role == User.Role.PROVIDER:
        user.provider_status = User.ProviderStatus.PENDING
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def provider_set_status(*, provider_id: int, status: str) -> User:
    provider = User.objects.select_for_update().filter(pk=provider_id).first()
    if provider is None or provider.role != User.Role.PROVIDER:
        raise NotFound("No provider with this id.")
    if status not in User.ProviderStatus.values:
        raise Invalid(f"Unknown provider status {status!r}.", field="status")
    if provider.provider_status == status:
        raise Conflict(f"The provider is already {status}.")
    provider.provider_status = status
    provider.save(update_fields=["provider_status"])
    publish_on_commit(
        [user_group(provider.pk)], events.ACCOUNT_PROVIDER_STATUS, {"userId": provider.pk, "providerStatus": status}
    )
    return provider


@transaction.atomic
def user_set_active(*, user_id: int, is_active: bool) -> User:
    """Deactivate or reactivate an account; a deactivation closes the user's sockets (``user_disconnect_if_inactive``,
    through the post_save receiver) once it commits."""
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None:
        raise NotFound("No user with this id.")
    if user.is_active == is_active:
        raise Conflict(f"The user is already {'active' if is_active else 'inactive'}.")
    user.is_active = is_active
    user.save(update_fields=["is_active"])
    return user


def user_disconnect_if_inactive(*, user: User) -> None:
    """Once the save commits, every open socket of an inactive user closes with 4401 (``accounts.consumers``);
    new ones are refused already, as JWT, ticket and session all authenticate active users only.

    Saving a user who was already inactive sends it again, to a group no socket is in: cheaper than
    reading the row's previous state on every save of a user.
    """
    if not user.is_active:
        publish_on_commit([user_group(user.pk)], events.ACCOUNT_DEACTIVATED, {"userId": user.pk})


def ws_ticket_issue(*, user: User) -> tuple[str, WebSocketTicket]:
    """Return a fresh ticket (shown once to the caller) and its stored row."""
    ticket = secrets.token_urlsafe(32)
    row = WebSocketTicket.objects.create(
        user=user,
        digest=WebSocketTicket.digest_of(ticket),
        expires_at=timezone.now() + timedelta(seconds=settings.WS_TICKET_TTL_SECONDS),
    )
    return ticket, row


def ws_ticket_redeem(*, ticket: str) -> User | None:
    """Spend a ticket: one conditional UPDATE, so two sockets racing on one ticket get one user."""
    now = timezone.now()
    digest = WebSocketTicket.digest_of(ticket)
    spent = WebSocketTicket.objects.filter(digest=digest, used_at__isnull=True, expires_at__gt=now).update(
        used_at=now
    )
    if not spent:
        return None
    return User.objects.filter(ws_tickets__digest=digest, is_active=True).first()
