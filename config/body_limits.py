"""How large a request body may be, by path, and the ASGI middleware that holds bodies to it before
Django reads them.

Django's ASGI handler reads a whole body into a temporary file before any Django middleware or view runs,
and DRF then parses it whole, so limits checked there come after the disk or the memory was spent. This
middleware wraps the HTTP application: a ``Content-Length`` over the path's limit is answered 413 at
once, without reading; a body without one is counted as it arrives and cut off at the limit; and an
upload, the one large body, is read only for a caller whose credentials check out (401 otherwise).
The credential is checked here, from the headers, rather than by DRF after the body has been read;
the view checks it again (and the session's CSRF token), at the cost of one more user lookup per upload.
"""

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from rest_framework.exceptions import NotAuthenticated

from accounts.scope_auth import scope_user
from kernel.errors import BodyTooLarge, wire_error

AUTH_PATH_PREFIX = "/api/auth/"
MESSAGE_SEND_PATH = "/api/messages"
# An edit carries a message's content too (PATCH /api/messages/{id}).
MESSAGE_EDIT_PATH = re.compile(r"/api/messages/[0-9]+")
# A message's content may arrive JSON-escaped as surrogate pairs (\ud83d\ude00: 12 bytes a character);
# the other fields of a send and a multipart body's part headers and boundaries fit in the allowance.
MESSAGE_CONTENT_BYTES_PER_CHARACTER = 12
MESSAGE_FIELDS_ALLOWANCE_BYTES = 16 * 1024


@dataclass(frozen=True)
class BodyLimit:
    max_bytes: int
    # Read the body only once the caller's credentials have checked out.
    authenticated_only: bool = False


def body_limit(*, method: str, path: str, content_type: str) -> BodyLimit:
    """The limit on a request's body: a few KiB for the auth endpoints, what a message needs for a send or
    an edit, a file and its message for an upload, ``REQUEST_BODY_MAX_BYTES`` for every other body (the JSON API,
    the admin's and the pages' forms)."""
    if path.startswith(AUTH_PATH_PREFIX):
        return BodyLimit(settings.AUTH_BODY_MAX_BYTES)
    if method == "POST" and path == MESSAGE_SEND_PATH:
        if content_type.lower().startswith("multipart/form-data"):
            return BodyLimit(settings.UPLOAD_MAX_BYTES + message_body_max_bytes(), authenticated_only=True)
        return BodyLimit(message_body_max_bytes())
    if method == "PATCH" and MESSAGE_EDIT_PATH.fullmatch(path):
        return BodyLimit(message_body_max_bytes())
    return BodyLimit(settings.REQUEST_BODY_MAX_BYTES)


def message_body_max_bytes() -> int:
    return MESSAGE_CONTENT_BYTES_PER_CHARACTER * settings.MESSAGE_MAX_LENGTH + MESSAGE_FIELDS_ALLOWANCE_BYTES


Refusal = tuple[int, list[tuple[bytes, bytes]], bytes]


def too_large_refusal(limit: BodyLimit) -> Refusal:
    error = BodyTooLarge(f"Request bodies here are limited to {limit.max_bytes} bytes.")
    return _refusal(error.http_status, error.as_payload())


def unauthenticated_refusal() -> Refusal:
    # As DRF answers a request without credentials (JWT first among the authenticators).
    error = NotAuthenticated()
    return _refusal(
        error.status_code,
        wire_error(error.default_code, str(error.detail)),
        [(b"www-authenticate", b'Bearer realm="api"')],
    )


def _refusal(status: int, payload: dict, extra_headers: Sequence[tuple[bytes, bytes]] = ()) -> Refusal:
    """A JSON refusal sent before the body was read: the connection is closed after it, so that the
    server does not go on reading (and discarding) what the client still sends."""
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *extra_headers,
    ]
    return status, headers, body


class BodyLimitMiddleware:
    """Wraps the HTTP application (config.asgi) so that no body past its path's limit reaches Django."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        limit = body_limit(
            method=scope["method"], path=scope["path"], content_type=headers.get(b"content-type", b"").decode("latin-1")
        )
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit.max_bytes:
            return await _send_refusal(send, too_large_refusal(limit))
        if limit.authenticated_only and not (await scope_user(scope)).is_authenticated:
            return await _send_refusal(send, unauthenticated_refusal())
        counted = CountedBody(receive, limit.max_bytes)
        response = ResponseWatch(send)
        await self.app(scope, counted.receive, response.send)
        if counted.over_limit and not response.started:
            await _send_refusal(send, too_large_refusal(limit))


class CountedBody:
    """``receive`` that counts body bytes; past ``max_bytes`` it says the client has gone, which ends
    Django's reading of the body (``RequestAborted``) with nothing answered, so the middleware answers."""

    def __init__(self, receive, max_bytes: int):
        self._receive = receive
        self.max_bytes = max_bytes
        self.received = 0
        self.over_limit = False

    async def receive(self):
        if self.over_limit:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.max_bytes:
                self.over_limit = True
                return {"type": "http.disconnect"}
        return message


class ResponseWatch:
    def __init__(self, send):
        self._send = send
        self.started = False

    async def send(self, message):
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


async def _send_refusal(send, refusal: Refusal) -> None:
    status, headers, body = refusal
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
