"""How the worker is started: `make run` beside daphne in one command, `make serve` beside uvicorn as its own
process, and docker-compose as its own service (read from the Makefile's dry run and the compose file)."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def make_dry_run(target: str) -> str:
    return subprocess.run(
        ["make", "--no-print-directory", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout


@pytest.mark.parametrize(("target", "server"), [("run", "daphne"), ("serve", "uvicorn")])
def test_make_starts_the_worker_in_the_background_beside_the_server_and_stops_it_with_it(target, server):
    commands = make_dry_run(target)

    worker_then_server = re.search(
        r"manage\.py run_worker & worker=\$!; trap 'kill \$worker[^']*' EXIT INT TERM; \\\n\S*/" + server, commands
    )
    assert worker_then_server, commands


def test_docker_compose_runs_the_worker_as_its_own_service():
    compose = (ROOT / "docker-compose.yml").read_text()

    services = re.split(r"\n  (?=\w[\w-]*:\n)", compose)
    (worker,) = [block for block in services if block.startswith("worker:")]
    assert "exec python manage.py run_worker" in worker
    assert "DATABASE_URL: postgres://" in worker
