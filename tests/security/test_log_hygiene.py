"""No credential reaches a server's log: not the password, the JWTs, the refresh token, a session id, nor a
socket ticket (used, spent, expired or tampered), while the server logs everything it can (DEBUG and its
access log). uvicorn logs a socket's URL with its query string and, at DEBUG, the handshake's headers:
config.log_redaction is what keeps this test passing on it."""

import asyncio
from datetime import timedelta

import httpx
import pytest
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken
from websockets.asyncio.client import connect as websocket_connect
from websockets.exceptions import ConnectionClosed

from accounts import services as account_services
from accounts.models import WebSocketTicket
from realtime.consumers import CLOSE_UNAUTHENTICATED
from tests.conftest import PASSWORD
from tests.live import FRAME_SECONDS, live_servers, next_frame  # noqa: F401
from tests.live import join as live_join

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _tampered(secret: str) -> str:
    return secret[:-6] + ("A" * 6 if not secret.endswith("A" * 6) else "B" * 6)


def _expired_jwt(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1), lifetime=timedelta(minutes=1))
    return str(token)


class Visit:
    """What one client does against one server, keeping every credential it handled."""

    def __init__(self, server, user, *, expired_ticket: str, session_id: str):
        self.server, self.user = server, user
        self.secrets = {"password": PASSWORD, "expired ticket": expired_ticket, "session id": session_id}
        self.http = httpx.AsyncClient(base_url=server.url, timeout=FRAME_SECONDS)

    def socket(self, *, ticket: str | None = None, jwt: str | None = None, session: str | None = None):
        url = self.server.ws_url + (f"?ticket={ticket}" if ticket else "")
        headers = {}
        if jwt:
            headers["Authorization"] = f"Bearer {jwt}"
        if session:
            headers["Cookie"] = f"sessionid={session}"
        return websocket_connect(url, origin=self.server.url, additional_headers=headers)

    async def socket_joins(self, conversation_id: int, **credential: str) -> None:
        async with self.socket(**credential) as websocket:
            assert (await live_join(websocket, conversation_id))["event"] == "join"

    async def socket_is_refused(self, **credential: str) -> None:
        async with self.socket(**credential) as websocket:
            with pytest.raises(ConnectionClosed) as closed:
                await next_frame(websocket)
        assert closed.value.rcvd.code == CLOSE_UNAUTHENTICATED

    async def ticket(self, access: str) -> str:
        response = await self.http.post("/api/auth/ws-ticket", headers={"Authorization": f"Bearer {access}"})
        assert response.status_code == 201, response.text
        return response.json()["ticket"]

    async def everything(self, conversation_id: int) -> None:
        """Log in, refresh, use and misuse every kind of credential, over HTTP and sockets."""
        wrong = await self.http.post("/api/auth/token", json={"username": self.user.username, "password": "wrong"})
        assert wrong.status_code == 401
        tokens = (
            await self.http.post("/api/auth/token", json={"username": self.user.username, "password": PASSWORD})
        ).json()
        self.secrets.update(access=tokens["access"], refresh=tokens["refresh"])
        refreshed = await self.http.post("/api/auth/token/refresh", json={"refresh": tokens["refresh"]})
        self.secrets["refreshed access"] = refreshed.json()["access"]
        self.secrets["tampered access"] = _tampered(tokens["access"])
        self.secrets["expired access"] = _expired_jwt(self.user)
        for access, status in [(tokens["access"], 200), (self.secrets["tampered access"], 401)]:
            me = await self.http.get("/api/auth/me", headers={"Authorization": f"Bearer {access}"})
            assert me.status_code == status

        self.secrets["ticket"] = await self.ticket(tokens["access"])
        await self.socket_joins(conversation_id, ticket=self.secrets["ticket"])
        await self.socket_is_refused(ticket=self.secrets["ticket"])  # spent
        self.secrets["tampered ticket"] = _tampered(await self.ticket(tokens["access"]))
        await self.socket_is_refused(ticket=self.secrets["tampered ticket"])
        await self.socket_is_refused(ticket=self.secrets["expired ticket"])

        await self.socket_joins(conversation_id, jwt=self.secrets["refreshed access"])
        await self.socket_is_refused(jwt=self.secrets["tampered access"])
        await self.socket_is_refused(jwt=self.secrets["expired access"])
        await self.socket_joins(conversation_id, session=self.secrets["session id"])
        await self.http.aclose()


@pytest.fixture
def expired_ticket(client_user) -> str:
    """Made before the server starts: on SQLite it serves a copy of the database taken at its start."""
    ticket, row = account_services.ws_ticket_issue(user=client_user)
    WebSocketTicket.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    return ticket


@pytest.fixture
def session_id(client_user) -> str:
    """A logged-in browser's session, also made before the server starts."""
    browser = Client()
    browser.force_login(client_user)
    return browser.cookies["sessionid"].value


@pytest.fixture(params=["daphne", "uvicorn"])
def verbose_server(request, live_servers, client_user, conversation, expired_ticket, session_id):
    """A server logging at DEBUG with its access log on, started once the persona and project exist."""
    return live_servers.start(kind=request.param, env={"LOG_LEVEL": "DEBUG"}, verbose_logs=True)


async def test_no_password_token_or_ticket_appears_in_a_verbose_servers_log(
    verbose_server, client_user, conversation, expired_ticket, session_id
):
    server = verbose_server
    visit = Visit(server, client_user, expired_ticket=expired_ticket, session_id=session_id)

    await visit.everything(conversation.pk)
    await asyncio.to_thread(server.stop)

    log = server.log_path.read_text()
    assert "/api/auth/token" in log and "/ws/" in log, "the access log was not captured"
    assert [name for name, secret in visit.secrets.items() if secret in log] == []
