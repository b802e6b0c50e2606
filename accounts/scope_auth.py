"""Who an HTTP request's credentials name, read from its ASGI scope alone, before its body has arrived.

config.body_limits asks this before reading an upload, so that nobody without an account can make the
server store one. The same credentials as the API's, checked the same way: a Bearer JWT (a presented
token that does not check out is not made up for by a session cookie), else the session cookie. The view
authenticates again as usual, with the session's CSRF check, once the body has been read.
"""

from channels.auth import get_user
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.http.cookie import parse_cookie
from django.utils.module_loading import import_string

from accounts.models import User
from accounts.socket_auth import bearer_token, user_from_jwt


async def scope_user(scope) -> User | AnonymousUser:
    bearer = bearer_token(scope)
    if bearer is not None:
        user, _ = await user_from_jwt(bearer)
        return user
    session_key = _cookies(scope).get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return AnonymousUser()
    return await get_user({"session": _session_store()(session_key)})


def _cookies(scope) -> dict[str, str]:
    header = "; ".join(value.decode("latin-1") for name, value in scope.get("headers", []) if name == b"cookie")
    return parse_cookie(header)


def _session_store() -> type[SessionBase]:
    return import_string(f"{settings.SESSION_ENGINE}.SessionStore")
