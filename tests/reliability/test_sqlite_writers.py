"""The embedded default under concurrent writers, as ``make run`` serves it: daphne on a SQLite file with the
demo data and the in-memory layer. Writes queue for SQLite's one write lock instead of failing with
``database is locked`` (a 500). Runs whatever database the suite itself is on."""

import time
import uuid
from collections import Counter
from datetime import date, timedelta

import httpx
import pytest

from projects.management.commands.seed_demo import DEMO_PASSWORD
from tests.concurrency import together
from tests.live import make_run_database

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

HTTP_SECONDS = 60.0


@pytest.fixture
def make_run_server(live_servers, tmp_path, request):
    """daphne on the file as ``make run`` names it (``SQLITE_PATH``), or as ``DATABASE_URL=sqlite:///...``
    when a test passes ``"DATABASE_URL"``; REDIS_URL empty: the in-memory layer and cache."""
    database = make_run_database(tmp_path / "db.sqlite3")
    env = {"REDIS_URL": ""}
    if getattr(request, "param", "SQLITE_PATH") == "DATABASE_URL":
        env["DATABASE_URL"] = f"sqlite:///{database}"
    return live_servers.start(kind="daphne", sqlite_path=database, env=env)


def _http(server, username: str) -> httpx.Client:
    """A client of ``server`` logged in as ``username`` with the demo password. The racing threads share it:
    an httpx client is thread-safe and opens a connection for each request in flight."""
    with httpx.Client(base_url=server.url, timeout=HTTP_SECONDS) as anonymous:
        tokens = anonymous.post("/api/auth/token", json={"username": username, "password": DEMO_PASSWORD})
    tokens.raise_for_status()
    return httpx.Client(
        base_url=server.url, timeout=HTTP_SECONDS, headers={"Authorization": f"Bearer {tokens.json()['access']}"}
    )


def _statuses(responses) -> Counter:
    """How many answered each status; a call that raised (a timeout, a dropped connection) counts by its type."""
    return Counter(getattr(response, "status_code", type(response).__name__) for response in responses)


def _post_retrying_503(http: httpx.Client, path: str, body: dict) -> httpx.Response:
    """POST as a client does past the server's send bound (``SEND_MAX_IN_FLIGHT``, 16 in flight): again
    after ``Retry-After``. A 503 is the bound working; a 500 is not."""
    for _ in range(30):
        response = http.post(path, json=body)
        if response.status_code != 503:
            return response
        time.sleep(float(response.headers["Retry-After"]))
    return response


def _assert_no_lock_error(server) -> None:
    log = server.log_path.read_text(errors="replace")
    assert "database is locked" not in log
    assert "Traceback" not in log


@pytest.mark.parametrize("make_run_server", ["SQLITE_PATH", "DATABASE_URL"], indirect=True)
def test_ten_concurrent_accepts_of_one_proposal_answer_one_201_and_nine_409(make_run_server):
    client, provider = _http(make_run_server, "client"), _http(make_run_server, "provider")
    request_id = client.post("/api/requests", json={"title": "Race on SQLite"}).json()["id"]
    proposal = provider.post(
        f"/api/requests/{request_id}/proposals",
        json={"price": "100.00", "scope": "x", "deadline": str(date.today() + timedelta(days=5))},
    )
    assert proposal.status_code == 201, proposal.text

    responses = together([lambda: client.post(f"/api/proposals/{proposal.json()['id']}/accept")] * 10)

    assert _statuses(responses) == {201: 1, 409: 9}
    _assert_no_lock_error(make_run_server)


def test_forty_concurrent_sends_by_two_users_are_all_stored_with_gap_free_seqs(make_run_server):
    client, provider = _http(make_run_server, "client"), _http(make_run_server, "provider")
    conversation_id = client.get("/api/conversations").json()["results"][0]["id"]
    before = client.get(f"/api/messages/conversation/{conversation_id}").json()["results"]

    def send(http, number):
        body = {"conversationId": conversation_id, "content": f"m{number}", "clientMessageId": str(uuid.uuid4())}
        return lambda: _post_retrying_503(http, "/api/messages", body)

    responses = together([send(client if number % 2 else provider, number) for number in range(40)])

    assert _statuses(responses) == {201: 40}
    history = client.get(f"/api/messages/conversation/{conversation_id}", params={"limit": 100}).json()["results"]
    assert [message["seq"] for message in history] == list(range(1, len(before) + 41))
    _assert_no_lock_error(make_run_server)


def test_twenty_concurrent_mark_reads_all_answer_200(make_run_server):
    client, provider = _http(make_run_server, "client"), _http(make_run_server, "provider")
    conversation_id = client.get("/api/conversations").json()["results"][0]["id"]
    for number in range(3):
        provider.post("/api/messages", json={"conversationId": conversation_id, "content": f"unread {number}"})

    responses = together(
        [
            lambda http=http: http.patch(f"/api/messages/conversation/{conversation_id}/read")
            for http in (client, provider) * 10
        ]
    )

    assert _statuses(responses) == {200: 20}
    _assert_no_lock_error(make_run_server)
