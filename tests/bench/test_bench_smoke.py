"""The benchmark harness still runs end to end: ``python -m bench --smoke`` over every section, both
servers, every transport and an ablation of HEAD, against real daphne and uvicorn processes, writes a
complete report. Its figures are not judged here, only its shape."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bench.report import sweep_steps
from tests.conftest import requires_postgres

REPO_ROOT = Path(__file__).resolve().parents[2]
LATENCY_KEYS = {"count", "p50", "p95", "p99", "max", "mean"}
CORE_GROUPS = {"server", "load", "postgres", "redis", "other", "machine"}


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
            "--only",
            "all",
            "--servers",
            "all",
            "--transports",
            "all",
            "--ablation",
            "HEAD",
            "--database",
            f"bench_smoke_{uuid.uuid4().hex[:12]}",
            "--output",
            str(output),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
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
    for heading in (
        "## Machine",
        "## Parameters",
        "## End-to-end delivery",
        "## Ablation",
        "## Targets (issues 6 and 15)",
    ):
        assert heading in printed
    assert all({"issue", "target", "scope", "measured", "met", "gap"} == target.keys() for target in report["targets"])
    assert {target["issue"] for target in report["targets"]} == {6, 15}


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
            # The product's health counts: drops and the 503s of each bound; the relay has none.
            counts = [step[name] for name in ("dropped", "refusedInFlight", "refusedDeliveryLag")]
            assert all(isinstance(count, int) for count in counts) if sweep["app"] == "ours" else counts == [None] * 3


@pytest.mark.slow
def test_smoke_run_reads_issue_15s_figures_off_every_sweep_with_the_machines_load(smoke_report):
    report, printed = smoke_report
    for sweep in report["delivery"]:
        summary = sweep["summary"]
        assert summary.keys() == {
            "knee",
            "referenceRate",
            "atReference",
            "atKnee",
            "atHalfKnee",
            "atTwiceKnee",
            "lost",
            "dropped",
        }
        assert [step["role"] for step in sweep_steps(sweep)][-2:] == ["half of knee", "twice the knee"]
        if sweep["app"] == "ours":
            assert summary["atTwiceKnee"]["offeredPerSecond"] == round(summary["knee"] * 2, 1)
        # The smoke profile's search starts at its reference rate, so that step always exists.
        assert summary["atReference"]["offeredPerSecond"] == summary["referenceRate"] == 10.0
        assert summary["atReference"]["cores"].keys() == CORE_GROUPS
        assert len(sweep["loadAverageAtStart"]) == 3
    ours = [sweep for sweep in report["delivery"] if sweep["app"] == "ours"]
    assert all(sweep["toRelay"].keys() == {"knee", "cpuAtReference", "p50AtReference"} for sweep in ours)
    for heading in ("Knees", "Against the relay", "The machine at each knee"):
        assert heading in printed


@pytest.mark.slow
def test_smoke_run_ablation_serves_head_from_a_worktree_it_removes_and_compares_it_with_the_relay(smoke_report):
    report, _ = smoke_report
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert [(sweep["server"], sweep["processes"], sweep["transport"]) for sweep in report["ablation"]] == [
        ("daphne", 1, "ws"),
        ("uvicorn", 1, "ws"),
    ]
    for sweep in report["ablation"]:
        assert sweep["revision"]["name"] == "HEAD" and sweep["revision"]["commit"] == head
        assert sweep["steps"] and sweep["toRelay"].keys() == {"knee", "cpuAtReference", "p50AtReference"}
    worktrees = subprocess.run(
        ["git", "worktree", "list", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert "bench-ablation-" not in worktrees


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
