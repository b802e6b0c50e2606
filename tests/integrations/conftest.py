"""Webhooks on the shared personas: a receiver the test starts on the loopback (``bench.webhook_processes``),
an endpoint registered for it by support staff, and the worker's steps run in the test's thread or as real
``manage.py run_worker`` processes."""

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections
from standardwebhooks.webhooks import Webhook

from bench.webhook_processes import WebhookReceiver, WorkerProcess
from integrations import services, worker
from integrations.models import Endpoint
from tests.live import server_env


@pytest.fixture
def local_targets(settings):
    """The receivers here listen on the loopback, which webhooks refuse unless WEBHOOK_ALLOW_PRIVATE."""
    settings.WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def receiver():
    started: list[WebhookReceiver] = []

    def start(**options) -> WebhookReceiver:
        started.append(WebhookReceiver(**options).start())
        return started[-1]

    yield start
    for running in started:
        running.stop()


def endpoint_for(url: str, *, staff, events=("*",)) -> Endpoint:
    return services.endpoint_create(url=url, events=list(events), description="test receiver", by=staff)


def verified(endpoint: Endpoint, request) -> dict:
    """The request's envelope, once the ``standardwebhooks`` package verified its signature with the secret."""
    return Webhook(endpoint.secret).verify(request.body, request.headers)


def work_until_idle(limit: int = 1000) -> int:
    """Run the worker's step in this thread until nothing is left to do now; return the steps that did something."""
    steps = 0
    while steps < limit and worker.work_once():
        steps += 1
    return steps


def work_in_two_threads_at_once() -> None:
    """Two worker loops started together on their own connections, each working until idle: the race of two
    workers on one database (PostgreSQL's row claims), without the cost of two processes."""
    start = threading.Barrier(2)

    def worker():
        start.wait()
        try:
            work_until_idle()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.fixture
def workers(tmp_path):
    """``workers.start(env)`` runs ``manage.py run_worker`` on this test's database; all are stopped at the end."""
    log_dir = Path(django_settings.BASE_DIR) / "test-artifacts" / "workers"
    log_dir.mkdir(parents=True, exist_ok=True)
    running: list[WorkerProcess] = []

    class Workers:
        sqlite_path: Path | None = None

        def start(self, overrides: dict[str, str], *, concurrency: int | None = None) -> WorkerProcess:
            """The first start copies a SQLite test database into a file; later ones share that file."""
            env = server_env(tmp_path, {"WEBHOOK_ALLOW_PRIVATE": "true", **overrides}, self.sqlite_path)
            if "SQLITE_PATH" in env:
                self.sqlite_path = Path(env["SQLITE_PATH"])
            log_path = log_dir / f"{tmp_path.name}-worker{len(running)}.log"
            running.append(WorkerProcess(env=env, log_path=log_path, concurrency=concurrency))
            return running[-1]

        def wait_for_rows(self, sql: str, count: int, timeout: float) -> bool:
            """Wait until ``sql`` (a ``SELECT count(*)``) counts ``count`` rows in the workers' database."""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._count(sql) >= count:
                    return True
                time.sleep(0.1)
            return False

        def _count(self, sql: str) -> int:
            if self.sqlite_path is None:
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    return cursor.fetchone()[0]
            with sqlite3.connect(self.sqlite_path, timeout=10) as database:
                return database.execute(sql).fetchone()[0]

    yield Workers()
    for process in running:
        process.stop()
