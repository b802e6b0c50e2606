"""The benchmark harness still runs end to end: ``python -m bench --smoke`` against real daphne and
uvicorn processes writes a complete report. Its figures are not judged here, only its shape."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import requires_postgres

REPO_ROOT = Path(__file__).resolve().parents[2]
LATENCY_KEYS = {"count", "p50", "p95", "p99", "max", "mean"}


def _requires_redis():
    if not os.environ.get("REDIS_URL"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run with Redis (REDIS_URL)")
        pytest.skip("needs Redis: set REDIS_URL")


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory):
    requires_postgres()
    _requires_redis()
    output = tmp_path_factory.mktemp("bench") / "smoke.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--smoke",
            "--database",
            f"bench_smoke_{uuid.uuid4().hex[:12]}",
            "--output",
            str(output),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    return json.loads(output.read_text()), completed.stdout


@pytest.mark.slow
def test_smoke_run_prints_the_machine_the_parameters_and_the_targets(smoke_report):
    report, printed = smoke_report
    assert report["errors"] == []
    assert {"cores", "memoryGiB", "loadAverage"} <= report["machine"].keys()
    assert {"Django", "channels-redis", "daphne", "uvicorn", "PostgreSQL", "Redis"} <= report["versions"].keys()
    assert report["parameters"]["mode"] == "smoke"
    for heading in ("## Machine", "## Parameters", "## End-to-end delivery", "## Targets (issue 6)"):
        assert heading in printed
    assert all({"target", "scope", "measured", "met", "gap"} == target.keys() for target in report["targets"])


@pytest.mark.slow
def test_smoke_run_sweeps_delivery_for_both_servers_both_apps_one_and_two_processes_and_every_transport(
    smoke_report,
):
    report, _ = smoke_report
    sweeps = {(s["server"], s["app"], s["processes"], s["transport"]) for s in report["delivery"]}
    ours = {
        (server, "ours", processes, transport)
        for server in ("daphne", "uvicorn")
        for processes in (1, 2)
        for transport in ("ws", "socketio-websocket", "socketio-polling")
    }
    relay = {(server, "relay", processes, "ws") for server in ("daphne", "uvicorn") for processes in (1, 2)}
    assert sweeps == ours | relay
    for sweep in report["delivery"]:
        assert sweep["steps"], sweep
        for step in sweep["steps"]:
            assert step["latencyMs"].keys() == LATENCY_KEYS
            assert {"offeredPerSecond", "deliveredPerSecond", "lost", "errors", "healthy"} <= step.keys()


@pytest.mark.slow
def test_smoke_run_reports_history_list_typing_capacity_and_tokens(smoke_report):
    report, _ = smoke_report
    for section in ("history", "conversationList", "typing", "capacity", "tokens"):
        assert {entry["server"] for entry in report[section]} == {"daphne", "uvicorn"}, section
    assert {page["page"] for page in report["history"][0]["pages"]} >= {"newest", "oldest (before)"}
    assert report["typing"][0]["database"]["during"].keys() >= {"transactions", "tuplesReturned"}
    assert [len(capacity["checkpoints"]) for capacity in report["capacity"]] == [2, 2]
    assert report["queryCounts"]["send"] and report["queryCounts"]["conversationList"]
    assert report["channelLayerLeftovers"].keys() == {"keys", "groupsLeft", "membershipsLeft"}
