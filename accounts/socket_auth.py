"""Who is on the other end of a WebSocket: session cookie, Bearer JWT, or a one-use ticket.

A presented credential that does not check out leaves the socket anonymous even if a
session cookie came along, so a stale token never falls back to someone else's session.
A session cookie counts only on a handshake from the site's own pages (``_from_the_sites_pages``).
The scope also says when the credential expires (``auth_expires_at``, a JWT's or the one a
ticket was bound to) and which session opened the socket (``auth_session``, a digest), so
that the socket closes with them.
"""

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts import selectors, tokens
from accounts.models import User, session_digest
from accounts.services import ws_ticket_redeem


@database_sync_to_async
def user_from_jwt(raw: str) -> tuple[User | AnonymousUser, int | None]:
    try:
        token = AccessToken(raw)  # type: ignore[arg-type]  # simplejwt annotates a Token; it takes the encoded one
    except TokenError:
        return AnonymousUser(), None
    user = selectors.user_get_active(user_id=token.get("user_id"))
    if user is None or not tokens.is_current(token, user):
        return AnonymousUser(), None
    return user, int(token["exp"])


@database_sync_to_async
def _user_from_ticket(ticket: str) -> tuple[User | AnonymousUser, int | None, str | None]:
    row = ws_ticket_redeem(ticket=ticket)
    if row is None:
        return AnonymousUser(), None, None
    expires_at = int(row.credential_expires_at.timestamp()) if row.credential_expires_at else None
    return row.user, expires_at, row.session_digest or None


def bearer_token(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credential:
                return credential.strip()
    return None


class _Handshake(HttpRequest):
    """A socket's opening request (WebSocket handshake or, for other transports, HTTP) as Django's origin
    check reads a request: headers in META, the server's address, its scheme."""

    def __init__(self, scope):
        super().__init__()
        server_name, server_port = scope.get("server") or ("unknown", 0)
        self.META.update(SERVER_NAME=server_name, SERVER_PORT=str(server_port))
        for name, value in scope.get("headers", []):
            self.META["HTTP_" + name.decode("latin-1").upper().replace("-", "_")] = value.decode("latin-1")
        self.socket_scheme = "https" if scope.get("scheme") in ("https", "wss") else "http"

    def _get_scheme(self) -> str:
        return self.socket_scheme


def _from_the_sites_pages(scope) -> bool:
    """Whether the handshake's ``Origin`` is the site itself (the scheme, host and port the socket was opened
    on, with SECURE_PROXY_SSL_HEADER behind a proxy) or one of CSRF_TRUSTED_ORIGINS.

    A browser sends the session cookie with a handshake from any page, even one on another port or scheme of
    the same host, and the origin check at the door only compares the host; Django's own CSRF origin rule,
    applied here, is what lets a cookie-authenticated POST through too.
    """
    handshake = _Handshake(scope)
    if "HTTP_ORIGIN" not in handshake.META:
        return False
    # The check CsrfViewMiddleware runs on every unsafe request; a fresh instance reads the current settings.
    # _origin_verified is private, so django-stubs leaves it out; the middleware never calls get_response here.
    return CsrfViewMiddleware(lambda request: None)._origin_verified(handshake)  # type: ignore[arg-type,attr-defined]


class TokenOrTicketMiddleware:
    """Runs after the session middleware and overrides its user when a token or ticket is given."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        ticket = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("ticket", [None])[0]
        bearer = bearer_token(scope)
        if ticket is not None:
            user, expires_at, session = await _user_from_ticket(ticket)
            scope = dict(scope, user=user, auth_method="ticket", auth_expires_at=expires_at, auth_session=session)
        elif bearer is not None:
            user, expires_at = await user_from_jwt(bearer)
            scope = dict(scope, user=user, auth_method="jwt", auth_expires_at=expires_at, auth_session=None)
        elif _from_the_sites_pages(scope):
            session_key = scope["session"].session_key
            session = session_digest(session_key) if session_key else None
            scope = dict(scope, auth_method="session", auth_expires_at=None, auth_session=session)
        else:
            scope = dict(scope, user=AnonymousUser(), auth_method="session", auth_expires_at=None, auth_session=None)
        return await self.inner(scope, receive, send)


class ForeignOriginValidator(OriginValidator):
    """Refuses a handshake whose ``Origin`` names a host outside ALLOWED_HOSTS (HTTP 403, before any socket).

    A handshake without ``Origin`` comes from outside a browser, which always sends one: it passes, as
    ``socket.io-client`` and WebSocket libraries under Node or Python connect by default. It gains nothing
    from that: a session cookie counts only with the site's own Origin (``_from_the_sites_pages``), so such a
    client authenticates with a token or a ticket like any other.
    """

    def valid_origin(self, parsed_origin) -> bool:
        return parsed_origin is None or super().valid_origin(parsed_origin)


def SocketOriginValidator(application):  # noqa: N802 - named like Channels' AllowedHostsOriginValidator
    return ForeignOriginValidator(application, settings.ALLOWED_HOSTS)


def SocketAuthMiddlewareStack(inner):  # noqa: N802 - named like Channels' AuthMiddlewareStack
    return AuthMiddlewareStack(TokenOrTicketMiddleware(inner))
