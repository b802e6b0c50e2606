"""Real processes for tests that cross a process boundary: servers on this run's test database and
channel-layer prefix, a ``redis-server`` a test may kill (or count connections and commands on), and a plain
WebSocket client for them.

Servers are the benchmark's (``bench.servers.ServerProcess``), so tests and benchmark run the product
the same way. On PostgreSQL a server opens the very test database; on SQLite the test database is
copied into a file the server opens, once the test has written its rows.
"""

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test import override_settings
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken
from websockets.asyncio.client import connect as websocket_connect

from bench.servers import ServerProcess, free_port

FRAME_SECONDS = 10.0
# A server as `make serve` runs it, DEBUG off, with keys of its own; it speaks plain HTTP on the loopback,
# so it does not redirect to HTTPS.
PRODUCTION_SERVER_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "JWT_SIGNING_KEY": secrets.token_urlsafe(40),
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
}


def requires_redis() -> str:
    """This run's Redis URL; skip locally without one, fail under CI."""
    if not settings.REDIS_URL or "hosts" not in settings.CHANNEL_LAYERS["default"].get("CONFIG", {}):
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run with Redis (REDIS_URL)")
        pytest.skip("needs Redis: set REDIS_URL")
    return settings.REDIS_URL


def _database_env(tmp_path: Path) -> dict[str, str]:
    database = connection.settings_dict
    if connection.vendor == "postgresql":
        credentials = quote(database["USER"] or "", safe="")
        if database.get("PASSWORD"):
            credentials += ":" + quote(database["PASSWORD"], safe="")
        host = f"{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
        return {"DATABASE_URL": f"postgres://{credentials}@{host}/{quote(database['NAME'], safe='')}"}
    snapshot = tmp_path / "server.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(snapshot) as target:
        connection.connection.backup(target)
    target.close()
    return {"SQLITE_PATH": str(snapshot)}


def server_env(
    tmp_path: Path, overrides: dict[str, str] | None = None, sqlite_path: Path | None = None
) -> dict[str, str]:
    """The environment of a server process serving this test's rows (or the SQLite file ``sqlite_path``)
    and this run's channel layer."""
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "SQLITE_PATH"}}
    env.update({"SQLITE_PATH": str(sqlite_path)} if sqlite_path else _database_env(tmp_path))
    env.update(DJANGO_SETTINGS_MODULE="tests.server_settings", MEDIA_ROOT=str(tmp_path / "media"), DEBUG="true")
    layer = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    if "prefix" in layer:
        env["CHANNEL_LAYER_PREFIX"] = layer["prefix"]
    if "KEY_PREFIX" in settings.CACHES["default"]:
        env["CACHE_KEY_PREFIX"] = settings.CACHES["default"]["KEY_PREFIX"]
    env.update(overrides or {})
    return env


def make_run_database(path: Path) -> Path:
    """A SQLite file prepared as ``make run`` prepares ``db.sqlite3``: migrated, with the demo data."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(SQLITE_PATH=str(path), DJANGO_SETTINGS_MODULE="config.settings")
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=settings.BASE_DIR, env=env, check=True, capture_output=True
        )
    return path


class LiveServers:
    """Server processes started by one test and stopped (or found dead) when it ends."""

    def __init__(self, tmp_path: Path, log_dir: Path):
        self.tmp_path, self.log_dir = tmp_path, log_dir
        self.processes: list[ServerProcess] = []

    def start(
        self,
        *,
        kind: str = "daphne",
        env: dict[str, str] | None = None,
        label: str = "server",
        verbose_logs: bool = False,
        sqlite_path: Path | None = None,
        workers: int = 1,
    ) -> ServerProcess:
        process = ServerProcess(
            kind=kind,
            app="ours",
            env=server_env(self.tmp_path, env, sqlite_path),
            log_dir=self.log_dir,
            label=f"{label}{len(self.processes)}",
            verbose_logs=verbose_logs,
            workers=workers,
        )
        self.processes.append(process)
        process.wait_ready()
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.stop()


@pytest.fixture
def live_servers(transactional_db, tmp_path, request):
    """``live_servers.start(kind=..., env=...)`` runs a server; request it after the fixtures that write rows."""
    log_dir = Path(settings.BASE_DIR) / "test-artifacts" / "servers"
    log_dir.mkdir(parents=True, exist_ok=True)
    servers = LiveServers(tmp_path, log_dir)
    yield servers
    servers.stop_all()


class RedisServer:
    """A ``redis-server`` of the test's own on a spare port, to kill and restart without touching the shared one."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = log_dir / f"redis-{self.port}.log"
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        executable = shutil.which("redis-server") or pytest.fail("redis-server is not installed")
        self.popen = subprocess.Popen(
            [
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(self.log_path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        pytest.fail(f"redis-server on {self.port} did not listen")

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()


@pytest.fixture
def own_redis(tmp_path):
    """A running redis-server that only this test uses (and may kill and ``start()`` again)."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def cache_on_own_redis(own_redis):
    """This process's cache, rate limits and socket slots on ``own_redis``; yields a client of the test's
    own to observe that server with (``INFO``), opened before anything is counted."""
    requires_redis()
    observer = redis.Redis.from_url(own_redis.url)
    observer.ping()
    with override_settings(CACHES={"default": {**settings.CACHES["default"], "LOCATION": own_redis.url}}):
        yield observer
    observer.close()


def connections_received(observer: redis.Redis) -> int:
    """Connections the server has accepted since it started (whether still open or not)."""
    return observer.info("stats")["total_connections_received"]


def commands_run(observer: redis.Redis) -> dict[str, int]:
    """Calls per command since the server started, less the INFO calls that read them. A script's commands
    count too, besides its EVALSHA."""
    stats = observer.info("commandstats")
    return {name.removeprefix("cmdstat_"): row["calls"] for name, row in stats.items() if name != "cmdstat_info"}


def commands_since(observer: redis.Redis, before: dict[str, int]) -> dict[str, int]:
    return {
        name: calls - before.get(name, 0)
        for name, calls in commands_run(observer).items()
        if calls > before.get(name, 0)
    }


def production_access_token(user) -> str:
    """An access token for ``user`` that a server started with PRODUCTION_SERVER_ENV accepts."""
    return TokenBackend(jwt_settings.ALGORITHM, PRODUCTION_SERVER_ENV["JWT_SIGNING_KEY"]).encode(
        AccessToken.for_user(user).payload
    )


def bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


def open_socket(server: ServerProcess, user, **options):
    """A websockets client connection to ``server``'s ``/ws/`` as ``user`` (use with ``async with``)."""
    address = server.url.removeprefix("http://")
    return websocket_connect(server.ws_url, origin=f"http://{address}", additional_headers=bearer(user), **options)


async def next_frame(websocket, timeout: float = FRAME_SECONDS) -> dict:
    """The next frame other than a peer's ``presence:update`` (tests/realtime/sockets.py says why)."""
    while True:
        frame = json.loads(await asyncio.wait_for(websocket.recv(), timeout))
        if frame.get("event") != "presence:update":
            return frame


async def join(websocket, conversation_id: int, **extra) -> dict:
    """Join a conversation; frames replayed before the reply are returned with it (``after`` catch-up)."""
    await websocket.send(
        json.dumps({"event": "join", "data": {"conversationId": conversation_id, **extra}, "ref": "join"})
    )
    replayed = []
    while True:
        frame = await next_frame(websocket)
        if frame.get("ref") == "join":
            assert frame["event"] == "join", frame
            frame["replayedFrames"] = replayed
            return frame
        replayed.append(frame)
