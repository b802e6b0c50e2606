"""The official ``socket.io-client`` (npm, pinned in package-lock.json) against ``make serve``'s shape: uvicorn
with two worker processes behind one port on PostgreSQL and Redis, no sticky routing, in the client's default
mode (long-polling, then the upgrade) and with ``transports: ['websocket']``.

The client is ``tests/socketio/e2e_client.mjs``; it prints one JSON object per step, which these tests check.
"""

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken

from tests.conftest import requires_postgres
from tests.live import requires_redis

CLIENT_SCRIPT = Path(__file__).with_name("e2e_client.mjs")
NODE_MODULES = Path(settings.BASE_DIR) / "node_modules" / "socket.io-client"
STEP_SECONDS = 60

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def node() -> str:
    executable = shutil.which("node")
    if executable is None or not NODE_MODULES.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have node and the npm lockfile installed (make test runs npm ci)")
        pytest.skip("needs node and `npm ci` (make test runs it)")
    return executable


@pytest.fixture
def workers(live_servers, conversation):
    """uvicorn --workers 2 on this test's PostgreSQL database and Redis, as `make serve` runs it."""
    requires_postgres()
    requires_redis()
    return live_servers.start(kind="uvicorn", workers=2, label="sio")


class ClientRun:
    """One run of the Node client: its steps as they are printed, and a way to answer it on stdin."""

    def __init__(self, node: str, scenario: str, mode: str, server, conversation, client_user, provider):
        env = dict(
            os.environ,
            SERVER_URL=server.url,
            SIO_MODE=mode,
            CONVERSATION_ID=str(conversation.pk),
            CLIENT_TOKEN=str(AccessToken.for_user(client_user)),
            PROVIDER_TOKEN=str(AccessToken.for_user(provider)),
        )
        self.popen = subprocess.Popen(
            [node, str(CLIENT_SCRIPT), scenario],
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.steps: dict[str, dict] = {}

    def until(self, step: str) -> dict:
        """Read steps until ``step``; a failure or an early end fails the test with what the client said."""
        for line in self.popen.stdout:
            record = json.loads(line)
            self.steps[record["step"]] = record
            if record["step"] == "failed":
                pytest.fail(f"socket.io-client: {record['error']}\n{self.popen.stderr.read()}")
            if record["step"] == step:
                return record
        pytest.fail(f"socket.io-client ended before {step!r}: {self.popen.stderr.read()}")

    def answer(self, line: str) -> None:
        self.popen.stdin.write(line + "\n")
        self.popen.stdin.flush()

    def finish(self) -> None:
        self.until("done")
        assert self.popen.wait(timeout=STEP_SECONDS) == 0

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()


@pytest.fixture
def run_client(node, workers, conversation, client_user, provider):
    runs = []

    def start(scenario: str, mode: str) -> ClientRun:
        run = ClientRun(node, scenario, mode, workers, conversation, client_user, provider)
        runs.append(run)
        return run

    yield start
    for run in runs:
        run.stop()


@pytest.mark.parametrize("mode", ["default", "websocket"])
def test_an_unmodified_client_joins_receives_types_and_gets_errors(run_client, mode, conversation, client_user):
    run = run_client("basic", mode)

    refused = run.until("refused")
    assert refused["message"] == "unauthenticated"
    assert refused["data"]["code"]
    assert refused["retrying"] is False

    joined = run.until("joined")
    assert joined["client"] == {"conversationId": conversation.pk, "replayed": 0}
    assert joined["transports"] == ["websocket", "websocket"]

    message = run.until("message")
    assert message["receivedId"] == message["sentId"]
    assert message["seq"] == 1
    assert message["sender"]["id"] == client_user.pk

    typing = run.until("typing")
    assert typing["toProvider"]["userId"] == client_user.pk and typing["toProvider"]["isTyping"] is True
    assert typing["toClient"]["userId"] != client_user.pk and typing["toClient"]["isTyping"] is True

    errors = run.until("errors")
    assert errors["ack"]["error"]["code"] == "not_found"
    assert errors["event"]["code"] == "invalid"
    # The one error shape of REST and socket alike: {code, detail, fields?, retryAfter?}.
    for error in (errors["ack"]["error"], errors["event"]):
        assert error["detail"] and set(error) <= {"code", "detail", "fields", "retryAfter"}

    read = run.until("read")
    assert read["ack"]["lastReadMessageId"] == message["receivedId"]
    run.finish()


def _socket_inode(local_port: int, remote_port: int) -> str:
    """The inode of the server's end of one loopback TCP connection, from ``/proc/net/tcp``."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == local_port and int(remote.rsplit(":", 1)[1], 16) == remote_port:
                return inode
    raise AssertionError(f"no connection from port {remote_port} to {local_port}")


def _process_holding(inode: str, candidates: list[int]) -> int:
    for pid in candidates:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except FileNotFoundError:
                continue
    raise AssertionError(f"no worker holds socket {inode}")


def _worker_pids(parent_pid: int) -> list[int]:
    children = Path(f"/proc/{parent_pid}/task/{parent_pid}/children").read_text().split()
    return [int(pid) for pid in children]


@pytest.mark.parametrize("mode", ["default", "websocket"])
def test_killing_the_receivers_worker_loses_no_message(run_client, workers, mode):
    run = run_client("kill", mode)
    kill_now = run.until("kill-now")
    assert kill_now["transport"] == "websocket"

    worker = _process_holding(_socket_inode(workers.port, kill_now["localPort"]), _worker_pids(workers.pid))
    os.kill(worker, signal.SIGKILL)
    run.answer("killed")

    received = run.until("received")
    assert received["connects"] >= 2, "the client should have reconnected after its worker died"
    assert received["receivedIds"] == received["sentIds"]
    run.finish()
