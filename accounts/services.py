"""Writes on users: registration, provider approval, WebSocket tickets, cutting off a deactivated user,
and ending sessions: logout, password change, revoking every credential of a user."""

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts import events
from accounts.models import User, WebSocketTicket, session_digest
from accounts.tokens import GENERATION_CLAIM
from kernel.errors import Conflict, Invalid, NotFound
from realtime.events import user_group
from realtime.publish import publish_on_commit

logger = logging.getLogger(__name__)


def user_last_seen_record(*, user_id: int, at: datetime) -> datetime | None:
    """Record that the user was seen ``at``, unless that was recorded less than
    ``PRESENCE_LAST_SEEN_INTERVAL_SECONDS`` before; the user's ``last_seen_at`` after it.

    The condition is in the UPDATE itself, so processes announcing the same user at once write it once.
    """
    interval = timedelta(seconds=settings.PRESENCE_LAST_SEEN_INTERVAL_SECONDS)
    stale = Q(last_seen_at__isnull=True) | Q(last_seen_at__lte=at - interval)
    if User.objects.filter(stale, pk=user_id).update(last_seen_at=at):
        return at
    return User.objects.filter(pk=user_id).values_list("last_seen_at", flat=True).first()


def user_register(*, username: str, email: str, password: str, role: str) -> User:
    if role not in User.Role.values:
        raise Invalid(f"Role must be one of {', '.join(User.Role.values)}.", field="role")
    # NFKC, as the login form applies it: fullwidth or compatibility letters become the ASCII ones.
    user = User(username=User.normalize_username(username), email=email, role=role)
    if role == User.Role.PROVIDER:
        user.provider_status = User.ProviderStatus.PENDING
    try:
        User.username_validator(user.username)
        user.validate_constraints()
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), field="username") from exc
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), field="password") from exc
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        # A look-alike registered between the check and the save: the unique index decided.
        raise Invalid("This username is taken, or looks like one that is.", field="username") from exc
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
        [user_group(provider.pk)], events.ACCOUNT_PROVIDER_STATUS, events.provider_status_payload(provider)
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
    """Once the save commits, every open socket of an inactive user closes with 4401 (``accounts.socket_handlers``);
    new ones are refused already, as JWT, ticket and session all authenticate active users only.

    Saving a user who was already inactive sends it again, to a group no socket is in: cheaper than
    reading the row's previous state on every save of a user.
    """
    if not user.is_active:
        publish_on_commit([user_group(user.pk)], events.ACCOUNT_DEACTIVATED, events.user_payload(user.pk))


@transaction.atomic
def ws_ticket_issue(
    *, user: User, credential_expires_at: datetime | None = None, session_key: str | None = None
) -> tuple[str, WebSocketTicket]:
    """Return a fresh ticket (shown once to the caller) and its stored row, bound to the credential that
    asked for it: its socket closes when that credential expires, or when that session logs out.

    The user's spent and expired tickets go first: one indexed delete of a few rows (THROTTLE_WS_TICKET
    bounds how many a user has), so a user's tickets never pile up however often they reconnect.
    """
    ws_tickets_purge(user=user)
    ticket = secrets.token_urlsafe(32)
    row = WebSocketTicket.objects.create(
        user=user,
        digest=WebSocketTicket.digest_of(ticket),
        expires_at=timezone.now() + timedelta(seconds=settings.WS_TICKET_TTL_SECONDS),
        credentials_generation=user.credentials_generation,
        credential_expires_at=credential_expires_at,
        session_digest=session_digest(session_key) if session_key else "",
    )
    return ticket, row


@transaction.atomic
def ws_tickets_purge(*, user: User | None = None) -> int:
    """Delete spent and expired tickets (of ``user``, or everyone's); return how many went."""
    tickets = WebSocketTicket.objects.filter(Q(used_at__isnull=False) | Q(expires_at__lte=timezone.now()))
    if user is not None:
        tickets = tickets.filter(user=user)
    deleted, _ = tickets.delete()
    return deleted


@transaction.atomic
def ws_ticket_redeem(*, ticket: str) -> WebSocketTicket | None:
    """Spend a ticket: one conditional UPDATE, so two sockets racing on one ticket get one user. The spent
    row stays locked until its user is read, so a purge by a concurrent issue cannot delete it in between.
    A ticket minted before its user's credentials were revoked is spent but refused."""
    now = timezone.now()
    digest = WebSocketTicket.digest_of(ticket)
    spent = WebSocketTicket.objects.filter(digest=digest, used_at__isnull=True, expires_at__gt=now).update(used_at=now)
    if not spent:
        return None
    return (
        WebSocketTicket.objects.select_related("user")
        .filter(digest=digest, user__is_active=True, user__credentials_generation=F("credentials_generation"))
        .first()
    )


@transaction.atomic
def credentials_revoke(*, user_id: int, generation: int | None = None) -> bool:
    """Every token, ticket and session the user holds stops working (their generation goes up by one) and,
    once committed, every open socket of theirs closes with 4401 (``accounts.socket_handlers``).

    With ``generation``, only if the user is still at it: a token of a generation already revoked revokes
    nothing more. True if revoked.
    """
    users = User.objects.filter(pk=user_id)
    if generation is not None:
        users = users.filter(credentials_generation=generation)
    if not users.update(credentials_generation=F("credentials_generation") + 1):
        return False
    publish_on_commit([user_group(user_id)], events.CREDENTIALS_REVOKED, events.user_payload(user_id))
    return True


@transaction.atomic
def password_change(*, user_id: int, current_password: str, new_password: str) -> User:
    """Set a new password and revoke every credential issued before it; the caller gets fresh ones."""
    user = User.objects.select_for_update().get(pk=user_id)
    if not user.check_password(current_password):
        raise Invalid("The current password is not correct.", field="currentPassword")
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise Invalid(" ".join(exc.messages), field="newPassword") from exc
    user.set_password(new_password)
    user.save(update_fields=["password"])
    credentials_revoke(user_id=user.pk)
    user.refresh_from_db(fields=["credentials_generation"])
    return user


def refresh_token_revoke(*, user: User, raw: str) -> None:
    """Logout of one client: its refresh token is blacklisted (its access tokens live out their minutes)."""
    try:
        token = RefreshToken(raw)  # type: ignore[arg-type]  # simplejwt annotates a Token; it takes the encoded one
    except TokenError as exc:
        raise Invalid(str(exc), field="refresh") from exc
    if token.get("user_id") != str(user.pk):
        raise Invalid("This refresh token is not yours.", field="refresh")
    token.blacklist()


def refresh_token_rotate(*, raw: str) -> dict[str, str]:
    """simplejwt's rotation: a new access and refresh token, and the refresh token presented is blacklisted.
    Refused (``TokenError``: 401): a bad token, one of a revoked generation, and a blacklisted one.

    A refresh token that verifies but is blacklisted (rotated or logged out) was presented twice: someone
    else holds a copy, and there is no telling which holder is the user. Every credential of the user is
    revoked, so both must log in again. Blacklisting is one INSERT against the token's unique row, so of two
    rotations of one token racing, one wins and the other counts as the reuse it is.
    """
    try:
        refresh = RefreshToken(raw)  # type: ignore[arg-type]  # simplejwt: as above
    except TokenError:
        _revoke_if_reused(raw)
        raise
    generation = refresh.get(GENERATION_CLAIM, 0)
    user = User.objects.filter(pk=refresh.get("user_id"), is_active=True, credentials_generation=generation).first()
    if user is None:
        raise TokenError("Token was revoked")
    if not _blacklist_first(refresh, user):
        _revoke_reused(user_id=user.pk, generation=generation)
        raise TokenError("Token is blacklisted")
    answer = {"access": str(refresh.access_token)}
    refresh.set_jti()
    refresh.set_exp()
    refresh.set_iat()
    refresh.outstand()
    answer["refresh"] = str(refresh)
    return answer


def _blacklist_first(refresh: RefreshToken, user: User) -> bool:
    """Blacklist ``refresh``; False if it already was."""
    outstanding, _ = OutstandingToken.objects.get_or_create(
        jti=refresh["jti"],
        defaults={"user": user, "token": str(refresh), "expires_at": datetime_from_epoch(refresh["exp"])},
    )
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:
        return False
    return True


def _revoke_if_reused(raw: str) -> None:
    try:
        payload = token_backend.decode(raw, verify=True)  # type: ignore[arg-type]  # simplejwt: as above
    except TokenBackendError:
        return  # tampered with, or expired
    if payload.get("token_type") != "refresh":
        return
    if not BlacklistedToken.objects.filter(token__jti=payload.get("jti")).exists():
        return
    _revoke_reused(user_id=int(payload["user_id"]), generation=payload.get(GENERATION_CLAIM, 0))


def _revoke_reused(*, user_id: int, generation: int) -> None:
    if credentials_revoke(user_id=user_id, generation=generation):
        logger.warning("a revoked refresh token of user %s was presented again: all their credentials revoked", user_id)


def session_end(*, user: User | None, session_key: str | None) -> None:
    """A session logs out: once committed, the sockets opened with it (its cookie, or tickets it asked for)
    close with 4401; the user's other sockets stay open."""
    if user is None or not session_key:
        return
    publish_on_commit(
        [user_group(user.pk)], events.SESSION_ENDED, events.session_ended_payload(session_digest(session_key))
    )
