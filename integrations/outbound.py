"""Outgoing webhook requests: which targets are allowed, the Standard Webhooks signature, and the POST.

A target's host is resolved once and every address checked; the connection goes to the checked address
(pinned), so a name that answers a public address to the check and a private one to the connect cannot
steer the request inside the network. HTTPS still verifies the certificate against the host name.
Redirects are never followed: ``http.client`` does not, and a 3xx counts as a failed attempt.
WEBHOOK_TIMEOUT_SECONDS bounds the whole attempt, not each read: a receiver trickling its answer must not hold
an attempt past its claim's lease (WEBHOOK_CLAIM_LEASE_SECONDS), or another worker would make it again at once.
"""

import base64
import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from kernel.errors import Invalid

SECRET_PREFIX = "whsec_"
USER_AGENT = "collab-webhooks/1"


class TargetRefused(Exception):
    """The URL's host is (or resolves to) an address webhooks may not reach."""


def sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, keyed with the secret's bytes after ``whsec_``."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global is false for private, loopback, link-local, shared (CGNAT), reserved and unspecified ranges.
    return ip.is_global and not ip.is_multicast


def resolve_target(url: str) -> tuple[str, int, str]:
    """The URL's host, port and the one address to connect to; ``TargetRefused`` for a refused or unknown target."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("Webhook URLs are http:// or https:// with a host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("The URL's port is not valid.") from exc
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"The host {parts.hostname!r} does not resolve.") from exc
    addresses = [str(info[4][0]) for info in infos]
    if not settings.WEBHOOK_ALLOW_PRIVATE and not all(_address_allowed(address) for address in addresses):
        raise TargetRefused("Webhooks may not target private, loopback, link-local or reserved addresses.")
    return parts.hostname, port, addresses[0]


def validate_url(url: str) -> None:
    """Refuse (400 on ``url``) a target the worker would refuse to send to."""
    try:
        resolve_target(url)
    except TargetRefused as exc:
        raise Invalid(str(exc), field="url") from exc


class _Abortable:
    """A connection that ``abort()`` (the attempt's deadline, from a timer thread) cuts off: its socket is shut
    down, so a blocked read or write fails at once, and a socket connected after the abort is shut down too."""

    sock: socket.socket | None
    aborted = False

    def abort(self) -> None:
        self.aborted = True
        self._shut_down()

    def _shut_down(self) -> None:
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed or never connected
                sock.shutdown(socket.SHUT_RDWR)

    def _connected(self, sock: socket.socket) -> None:
        self.sock = sock
        # Set before reading the flag (abort() sets the flag before reading the socket): one of them sees the other.
        if self.aborted:
            self._shut_down()


class _PinnedHTTPConnection(_Abortable, http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self._connected(socket.create_connection((self.address, self.port), self.timeout))


class _PinnedHTTPSConnection(_Abortable, http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self._connected(self._context.wrap_socket(sock, server_hostname=self.host))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Attempt:
    """What one POST got: the status code, or the error that kept it from getting one."""

    status_code: int | None
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(*, url: str, secret: str, message_id: str, timestamp: int, body: bytes) -> Attempt:
    """POST ``body`` to ``url``, signed, giving up after WEBHOOK_TIMEOUT_SECONDS in all (once the target resolved)."""
    try:
        host, port, address = resolve_target(url)
    except TargetRefused as exc:
        return Attempt(None, str(exc))
    parts = urlsplit(url)
    connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address=address, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=secret, message_id=message_id, timestamp=timestamp, body=body),
    }
    deadline = threading.Timer(settings.WEBHOOK_TIMEOUT_SECONDS, connection.abort)
    deadline.daemon = True
    deadline.start()
    try:
        connection.request("POST", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body, headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # the receiver's answer is not used; reading a little lets it finish cleanly
        if connection.aborted:
            # Cut off mid-answer, http.client may take the end of the stream for the end of the headers and
            # report a status it never fully got; at worst a complete answer is retried (same webhook-id).
            raise TimeoutError("timed out")
        return Attempt(response.status)
    except (OSError, http.client.HTTPException) as exc:
        if connection.aborted:
            return Attempt(None, f"TimeoutError: timed out after {settings.WEBHOOK_TIMEOUT_SECONDS:g} s in all")
        return Attempt(None, f"{type(exc).__name__}: {exc}"[:1000])
    finally:
        deadline.cancel()
        connection.close()
