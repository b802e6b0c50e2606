"""What webhook tests and the webhook benchmark run for real: a receiver (an HTTP server on the loopback that
records every POST and answers from a script) and ``manage.py run_worker`` processes."""

import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.servers import REPO_ROOT, free_port


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when the request was read

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A listen backlog for every worker thread posting at once (http.server's default of 5 drops SYNs).
    request_queue_size = 128


class WebhookReceiver:
    """Answers the first POSTs with ``statuses`` in turn, then 200. With ``hold``, the first POST gets no
    answer until ``release()`` (``held`` is set once it arrived); ``delay`` seconds pass before each answer."""

    def __init__(self, *, port: int | None = None, statuses: tuple[int, ...] = (), hold: bool = False, delay=0.0):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.received: list[Received] = []
        self.answered: list[int] = []
        self._statuses = list(statuses)
        self._hold = hold
        self._delay = delay
        self.held = threading.Event()
        self._released = threading.Event()
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> "WebhookReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._changed:
                    first = not receiver.received
                    receiver.received.append(
                        Received({k.lower(): v for k, v in self.headers.items()}, body, time.time())
                    )
                    status = receiver._statuses.pop(0) if receiver._statuses else 200
                    receiver._changed.notify_all()
                if receiver._hold and first:
                    receiver.held.set()
                    receiver._released.wait(60)
                    self.close_connection = True
                    return
                time.sleep(receiver._delay)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
                with receiver._changed:
                    receiver.answered.append(status)

            def log_message(self, format, *args):
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def release(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def wait_until(self, predicate, timeout: float) -> bool:
        """Wait until ``predicate(received)`` holds, at most ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.received), timeout)

    def distinct_ids(self) -> set[str]:
        return {request.webhook_id for request in self.received}


class WorkerProcess:
    """``manage.py run_worker`` in its own process group, logging to ``log_path``."""

    def __init__(self, *, env: dict[str, str], log_path: Path, concurrency: int | None = None, root: Path = REPO_ROOT):
        self.log_path = log_path
        command = [sys.executable, "manage.py", "run_worker"]
        if concurrency is not None:
            command += ["--concurrency", str(concurrency)]
        with open(log_path, "ab") as log:
            self.popen = subprocess.Popen(
                command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        """``kill -9``: no clean-up, its claims stay until their leases lapse."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
