"""Server processes the benchmark starts: daphne or uvicorn serving the product or the relay ceiling,
each on a free loopback port, with CPU time and resident memory read from ``/proc``."""

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.cpu import process_cpu_seconds

APPS = {"ours": "config.asgi:application", "relay": "bench.relay_asgi:application"}
REPO_ROOT = Path(__file__).resolve().parent.parent
# The servers' WebSocket message limit is the application's frame limit, as in the Makefile (which
# repeats config/settings.py's default the same way).
WS_MAX_FRAME_BYTES_DEFAULT = 16 * 1024


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_command(kind: str, app: str, port: int, ws_max_bytes: int, workers: int = 1) -> list[str]:
    """As `make run` (daphne) and `make serve` (uvicorn) run them, WebSocket message limit included."""
    if kind == "daphne":
        # -v 0: no access log, as uvicorn runs with --no-access-log; both log warnings.
        return [
            str(Path(sys.executable).parent / "daphne"),
            "-v",
            "0",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "--websocket-max-message-size",
            str(ws_max_bytes),
            "--websocket-max-frame-size",
            str(ws_max_bytes),
            app,
        ]
    if kind == "uvicorn":
        # As `make serve` runs it, one process per worker: h11 (no httptools or uvloop in requirements.txt)
        # and websockets-sansio, pinned because its send waits for the transport (docs/realtime.md).
        # --workers N: N processes accepting on one port, restarted by the parent when one dies (make serve).
        return [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws",
            "websockets-sansio",
            "--lifespan",
            "off",
            "--no-access-log",
            "--log-level",
            "warning",
            "--ws-max-size",
            str(ws_max_bytes),
            *(["--workers", str(workers)] if workers > 1 else []),
        ]
    raise ValueError(f"unknown server {kind!r}")


# Everything a server can log, DEBUG lines and its access log: what the log-hygiene test searches.
VERBOSE_LOG_ARGS = {"daphne": ["-v", "2"], "uvicorn": ["--log-level", "debug", "--access-log"]}


def process_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def wait_until_quiet(servers: list["ServerProcess"], *, limit_seconds: float = 30.0) -> None:
    """Return once the servers use under a tenth of a core each (a backlog has been worked off)."""
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        before = sum(server.cpu_seconds() for server in servers)
        time.sleep(0.2)
        if sum(server.cpu_seconds() for server in servers) - before < 0.02 * len(servers):
            return


class ServerProcess:
    def __init__(
        self,
        *,
        kind: str,
        app: str,
        env: dict[str, str],
        log_dir: Path,
        label: str,
        verbose_logs: bool = False,
        workers: int = 1,
        root: Path = REPO_ROOT,
    ):
        """``root`` is the tree served: this one, or an ablation's checkout of another revision."""
        self.kind, self.app, self.label = kind, app, label
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/"
        self.log_path = log_dir / f"{label}-{kind}-{self.port}.log"
        ws_max_bytes = int(env.get("WS_MAX_FRAME_BYTES", WS_MAX_FRAME_BYTES_DEFAULT))
        with open(self.log_path, "wb") as log:
            self.popen = subprocess.Popen(
                server_command(kind, APPS[app], self.port, ws_max_bytes, workers)
                + (VERBOSE_LOG_ARGS[kind] if verbose_logs else []),
                cwd=root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.popen.returncode}:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.label} did not listen within {timeout:.0f} s:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        return process_rss_bytes(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def terminate(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        self.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()


class ServerFleet:
    """N processes of one server kind serving one app, sharing the bench's PostgreSQL and Redis."""

    def __init__(self, *, kind: str, app: str, count: int, env: dict[str, str], log_dir: Path, root: Path = REPO_ROOT):
        self.kind, self.app = kind, app
        self.processes = [
            ServerProcess(kind=kind, app=app, env=env, log_dir=log_dir, label=f"{app}{index}", root=root)
            for index in range(count)
        ]

    def __enter__(self) -> "ServerFleet":
        try:
            for process in self.processes:
                process.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        if exc_type is None:
            # Closed sockets' disconnect handlers (group_discard) still run after the clients leave.
            wait_until_quiet(self.processes)
        self.stop()

    def cpu_seconds(self) -> float:
        return sum(process.cpu_seconds() for process in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.stop()
