"""Who is on the other end of a WebSocket: session cookie, Bearer JWT, or a one-use ticket.

A presented credential that does not check out leaves the socket anonymous even if a
session cookie came along, so a stale token never falls back to someone else's session.
"""

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.contrib.auth.models import AnonymousUser
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.services import ws_ticket_redeem


@database_sync_to_async
def _user_from_jwt(raw: str) -> tuple[User | AnonymousUser, int | None]:
    try:
        token = AccessToken(raw)
    except TokenError:
        return AnonymousUser(), None
    user = User.objects.filter(pk=token.get("user_id"), is_active=True).first()
    if user is None:
        return AnonymousUser(), None
    return user, int(token["exp"])


@database_sync_to_async
def _user_from_ticket(ticket: str) -> User | AnonymousUser:
    return ws_ticket_redeem(ticket=ticket) or AnonymousUser()


def _bearer(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credential:
                return credential.strip()
    return None


class TokenOrTicketMiddleware:
    """Runs after the session middleware and overrides its user when a token or ticket is given."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        ticket = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("ticket", [None])[0]
        bearer = _bearer(scope)
        if ticket is not None:
            scope = dict(scope, user=await _user_from_ticket(ticket), auth_method="ticket", auth_expires_at=None)
        elif bearer is not None:
            user, expires_at = await _user_from_jwt(bearer)
            scope = dict(scope, user=user, auth_method="jwt", auth_expires_at=expires_at)
        else:
            scope = dict(scope, auth_method="session", auth_expires_at=None)
        return await self.inner(scope, receive, send)


def SocketAuthMiddlewareStack(inner):  # noqa: N802 - named like Channels' AuthMiddlewareStack
    return AuthMiddlewareStack(TokenOrTicketMiddleware(inner))
