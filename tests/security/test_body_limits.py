"""Request bodies against live servers: a body over its path's limit is refused with 413 before it is read
(by ``Content-Length``, or at the limit for a chunked body), an upload is read only for a caller whose
credentials check out, and the servers refuse WebSocket messages over the application's frame limit.
Memory is the server's resident set and temporary disk what its open files and its ``TMPDIR`` hold, both
read from ``/proc``; the client streams its bodies and stops sending once the server has answered."""

import asyncio
import json
import os
import select
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from websockets.exceptions import ConnectionClosed

from bench.servers import ServerProcess
from config.body_limits import message_body_max_bytes
from tests.live import bearer, open_socket

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

KiB, MiB, GiB = 1024, 1024 * 1024, 1024 * 1024 * 1024
FILLER = b"x" * (64 * KiB)
# How long the client waits for an answer once it has nothing more to send.
ANSWER_SECONDS = 30.0
REFRESH_BODIES = 40
REFRESH_BODY_BYTES = 11 * MiB
# Measured +0.0-1.4 MiB; before the limits each of these bodies, parsed, grew the process by ~290 MiB.
RSS_GROWTH_LIMIT_BYTES = 50 * MiB
UPLOAD_LIMIT_BYTES = settings.UPLOAD_MAX_BYTES + message_body_max_bytes()
# What Django's handler holds of a body cut off at the limit: the limit and the last chunk that crossed it.
TEMP_SLACK_BYTES = 1 * MiB


# ---- a client that streams a body and stops when the server answers -----------------------------------


class TempWatch:
    """The bytes a server holds in temporary files under its ``TMPDIR``: files it has open there (deleted
    ones included, as ``tempfile.TemporaryFile`` makes them) and files left in the directory."""

    def __init__(self, server: ServerProcess, directory: Path):
        self.pid, self.directory = server.pid, str(directory)
        self.peak = 0

    def sample(self) -> None:
        sizes = {}
        for fd in Path(f"/proc/{self.pid}/fd").iterdir():
            try:
                if os.readlink(fd).startswith(self.directory):
                    status = os.stat(fd)
                    sizes[status.st_ino] = status.st_size
            except OSError:
                continue  # closed meanwhile
        for entry in Path(self.directory).rglob("*"):
            try:
                if entry.is_file():
                    status = entry.stat()
                    sizes[status.st_ino] = status.st_size
            except FileNotFoundError:
                continue  # removed between the listing and the stat
        self.peak = max(self.peak, sum(sizes.values()))


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the client had sent when the answer came

    def json(self) -> dict:
        return json.loads(self.body)


def exchange(
    server: ServerProcess,
    path: str,
    body: Iterator[bytes],
    size: int | None,
    *,
    headers: dict[str, str],
    temp: TempWatch | None = None,
) -> Answer:
    """POST ``body`` to ``path``: with ``Content-Length: size``, or chunked when ``size`` is None. Sending
    stops as soon as the server answers or closes; the temporary disk is sampled every MiB sent."""
    framing = {"Content-Length": str(size)} if size is not None else {"Transfer-Encoding": "chunked"}
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in {**headers, **framing}.items()) + "\r\n"
    frames = body if size is not None else _chunked(body)
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.sendall(head.encode())
        sent, sampled_at = 0, 0
        pending = b""
        while True:
            if not pending:
                pending = next(frames, b"")
                if not pending:
                    break
            readable, writable, _ = select.select([connection], [connection], [], ANSWER_SECONDS)
            if readable:
                break
            try:
                count = connection.send(pending[: 256 * KiB])
            except (BrokenPipeError, ConnectionResetError):
                break
            pending, sent = pending[count:], sent + count
            if temp is not None and sent - sampled_at >= MiB:
                temp.sample()
                sampled_at = sent
        status, response_headers, response_body = _read_response(connection)
    return Answer(status, response_headers, response_body, sent)


def _chunked(body: Iterator[bytes]) -> Iterator[bytes]:
    for piece in body:
        yield b"%x\r\n" % len(piece) + piece + b"\r\n"
    yield b"0\r\n\r\n"


def _read_response(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    connection.settimeout(ANSWER_SECONDS)
    received = b""
    while b"\r\n\r\n" not in received:
        piece = connection.recv(64 * KiB)
        assert piece, f"the server closed without answering: {received!r}"
        received += piece
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    while len(body) < int(headers.get("content-length", 0)):
        piece = connection.recv(64 * KiB)
        if not piece:
            break
        body += piece
    return int(status_line.split()[1]), headers, body


def filler(size: int, *, prefix: bytes = b"", suffix: bytes = b"") -> Iterator[bytes]:
    """``size`` bytes: ``prefix``, then x's, then ``suffix``, generated as they are sent."""
    yield prefix
    remaining = size - len(prefix) - len(suffix)
    while remaining > 0:
        piece = FILLER[:remaining]
        remaining -= len(piece)
        yield piece
    yield suffix


BOUNDARY = "limits-test-boundary"


def upload_parts(conversation_id: int, file_size: int) -> tuple[bytes, bytes, int]:
    """The multipart head and tail around a file of ``file_size`` bytes, and the body's whole size."""
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="conversationId"\r\n\r\n{conversation_id}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="type"\r\n\r\nfile\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
        f"Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    return head, tail, len(head) + file_size + len(tail)


def upload(server, conversation, *, file_size: int, chunked: bool, headers: dict[str, str], temp=None) -> Answer:
    head, tail, size = upload_parts(conversation.pk, file_size)
    return exchange(
        server,
        "/api/messages",
        filler(size, prefix=head, suffix=tail),
        None if chunked else size,
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        temp=temp,
    )


def refresh_body() -> tuple[Iterator[bytes], int]:
    """``{"refresh":[{},{},...]}`` of about 11 MiB, the body that built an 11 GiB object tree from forty
    requests, and its exact size."""
    opening, items, closing = b'{"refresh":[', b"{}," * (len(FILLER) // 3), b"{}]}"
    count = REFRESH_BODY_BYTES // len(items)
    return iter([opening, *[items] * count, closing]), len(opening) + count * len(items) + len(closing)


# ---- fixtures -----------------------------------------------------------------------------------------


@pytest.fixture
def server_tmp(tmp_path) -> Path:
    directory = tmp_path / "server-tmp"
    directory.mkdir()
    return directory


@pytest.fixture
def start_server(live_servers, server_tmp, tmp_path):
    """``start_server(kind)``: a server whose temporary files go to ``server_tmp``; start it after the
    fixtures that write rows."""

    def start(kind: str) -> ServerProcess:
        return live_servers.start(kind=kind, env={"TMPDIR": str(server_tmp), "MEDIA_ROOT": str(tmp_path / "media")})

    return start


def stored_files(tmp_path) -> list[Path]:
    """The files the server has stored: uploads go to its MEDIA_ROOT (its rows may be in a database
    file of its own, so the file system is where a test sees what it kept)."""
    return [entry for entry in (tmp_path / "media").rglob("*") if entry.is_file()]


def _json_headers(**extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json", **extra}


# ---- the auth endpoints: a few KiB --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["uvicorn", "daphne"])
def test_forty_11_mib_refresh_bodies_are_refused_and_the_process_does_not_grow(kind, start_server):
    server = start_server(kind)
    warm_up = exchange(server, "/api/auth/token/refresh", *refresh_body(), headers=_json_headers())
    rss_before = server.rss_bytes()

    answers = [
        exchange(server, "/api/auth/token/refresh", *refresh_body(), headers=_json_headers())
        for _ in range(REFRESH_BODIES)
    ]
    rss_after = server.rss_bytes()

    print(
        f"\n{kind}: {REFRESH_BODIES} x {REFRESH_BODY_BYTES / MiB:.0f} MiB refresh bodies, at most "
        f"{max(answer.sent for answer in answers) / KiB:.0f} KiB of each sent; RSS {rss_before / MiB:.1f} -> "
        f"{rss_after / MiB:.1f} MiB"
    )
    assert {answer.status for answer in [warm_up, *answers]} == {413}
    assert answers[0].json()["code"] == "body_too_large"
    assert rss_after - rss_before < RSS_GROWTH_LIMIT_BYTES


@pytest.mark.parametrize("kind", ["uvicorn", "daphne"])
def test_a_chunked_refresh_body_is_cut_off_at_the_limit(kind, start_server):
    server = start_server(kind)
    body, size = refresh_body()

    answer = exchange(server, "/api/auth/token/refresh", body, None, headers=_json_headers())

    assert answer.status == 413
    assert answer.json() == {
        "code": "body_too_large",
        "detail": f"Request bodies here are limited to {settings.AUTH_BODY_MAX_BYTES} bytes.",
    }
    assert answer.sent < size


# ---- uploads: read only for a caller whose credentials check out -------------------------------------


@pytest.mark.parametrize("kind", ["uvicorn", "daphne"])
def test_a_2_gib_body_without_credentials_is_refused_before_any_of_it_is_stored(
    kind, conversation, start_server, server_tmp
):
    server = start_server(kind)
    temp = TempWatch(server, server_tmp)

    answer = upload(server, conversation, file_size=2 * GiB, chunked=False, headers={}, temp=temp)

    temp.sample()
    print(f"\n{kind}: 2 GiB declared, {answer.sent / MiB:.1f} MiB sent, temp peak {temp.peak} bytes")
    assert answer.status == 413
    assert answer.json()["code"] == "body_too_large"
    assert temp.peak == 0


@pytest.mark.parametrize("credential", ["none", "forged token", "unknown session"])
def test_an_upload_without_valid_credentials_is_refused_before_it_is_read(
    credential, conversation, start_server, server_tmp
):
    """Chunked, so no length gives it away: uvicorn (production) answers 401 from the headers alone."""
    headers = {
        "none": {},
        "forged token": {"Authorization": "Bearer not.a.token"},
        "unknown session": {"Cookie": f"{settings.SESSION_COOKIE_NAME}=no-such-session"},
    }[credential]
    server = start_server("uvicorn")
    temp = TempWatch(server, server_tmp)

    answer = upload(server, conversation, file_size=2 * GiB, chunked=True, headers=headers, temp=temp)

    temp.sample()
    print(f"\nuvicorn, {credential}: {answer.sent / MiB:.1f} MiB sent before the answer, temp peak {temp.peak} bytes")
    assert answer.status == 401
    assert answer.json()["code"] == "not_authenticated"
    assert temp.peak == 0
    assert answer.sent < 64 * MiB  # what the sockets' buffers took before the answer came


@pytest.mark.parametrize("kind", ["uvicorn", "daphne"])
def test_a_1_gib_upload_with_its_length_is_refused_before_any_of_it_is_stored(
    kind, client_user, conversation, start_server, server_tmp
):
    server = start_server(kind)
    temp = TempWatch(server, server_tmp)

    answer = upload(server, conversation, file_size=GiB, chunked=False, headers=bearer(client_user), temp=temp)

    temp.sample()
    assert answer.status == 413
    assert temp.peak == 0


@pytest.mark.parametrize("kind", ["uvicorn", "daphne"])
def test_a_chunked_1_gib_upload_is_cut_off_at_the_limit(
    kind, client_user, conversation, start_server, server_tmp, tmp_path
):
    server = start_server(kind)
    temp = TempWatch(server, server_tmp)

    answer = upload(server, conversation, file_size=GiB, chunked=True, headers=bearer(client_user), temp=temp)

    temp.sample()
    print(
        f"\n{kind}: chunked 1 GiB upload, {answer.sent / MiB:.1f} MiB sent, temp peak {temp.peak / MiB:.1f} MiB"
        f" (limit {UPLOAD_LIMIT_BYTES / MiB:.1f} MiB)"
    )
    assert answer.status == 413
    assert answer.json()["code"] == "body_too_large"
    assert temp.peak <= UPLOAD_LIMIT_BYTES + TEMP_SLACK_BYTES
    assert answer.sent < GiB
    assert not stored_files(tmp_path)


@pytest.mark.parametrize("kind", ["uvicorn", "daphne"])
def test_a_1_mib_upload_by_a_member_is_stored(kind, client_user, conversation, start_server, tmp_path):
    server = start_server(kind)

    answer = upload(server, conversation, file_size=MiB, chunked=False, headers=bearer(client_user))

    assert answer.status == 201, answer.body
    assert answer.json()["file"]["size"] == MiB
    assert [stored.stat().st_size for stored in stored_files(tmp_path)] == [MiB]


def test_an_upload_with_a_session_cookie_is_stored(client_user, conversation, start_server):
    """The project page uploads with the session cookie and its CSRF token."""
    browser = Client()
    browser.force_login(client_user)
    csrf_secret = "a" * 32
    server = start_server("uvicorn")

    answer = upload(
        server,
        conversation,
        file_size=64 * KiB,
        chunked=False,
        headers={
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}; "
            f"{settings.CSRF_COOKIE_NAME}={csrf_secret}",
            "X-CSRFToken": csrf_secret,
        },
    )

    assert answer.status == 201, answer.body


# ---- message sends: what MESSAGE_MAX_LENGTH needs -----------------------------------------------------


def test_a_longest_message_escaped_character_by_character_is_sent(client_user, conversation, start_server):
    """The send limit follows MESSAGE_MAX_LENGTH: its longest content, each character a surrogate pair
    escaped in JSON (12 bytes a character), still fits."""
    server = start_server("uvicorn")
    body = json.dumps({"conversationId": conversation.pk, "content": "😀" * settings.MESSAGE_MAX_LENGTH}).encode()
    assert len(body) > 12 * settings.MESSAGE_MAX_LENGTH

    answer = exchange(server, "/api/messages", iter([body]), len(body), headers=_json_headers(**bearer(client_user)))

    assert answer.status == 201, answer.body
    assert answer.json()["content"] == "😀" * settings.MESSAGE_MAX_LENGTH


def test_a_send_body_over_its_limit_is_refused(client_user, conversation, start_server):
    server = start_server("uvicorn")
    size = message_body_max_bytes() + 1

    answer = exchange(server, "/api/messages", filler(size), size, headers=_json_headers(**bearer(client_user)))

    assert answer.status == 413


# ---- WebSocket messages: the servers' own limit -------------------------------------------------------


@pytest.mark.parametrize("kind", ["uvicorn", "daphne"])
def test_a_websocket_message_over_the_frame_limit_is_refused_by_the_server(kind, client_user, start_server):
    server = start_server(kind)

    async def send_oversized() -> ConnectionClosed:
        async with open_socket(server, client_user) as websocket:
            await websocket.send("x" * (settings.WS_MAX_FRAME_BYTES + 1))
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(websocket.recv(), 10)
            return closed.value

    closed = asyncio.run(send_oversized())

    # uvicorn says why (1009, message too big); daphne's autobahn drops the connection without a word.
    assert (closed.rcvd.code if closed.rcvd else None) == {"uvicorn": 1009, "daphne": None}[kind]
