"""How the bench reads issue 15's figures off a sweep, and what it refuses before a run starts.
No server runs here: the sweeps are built by hand."""

import subprocess
import sys
from pathlib import Path

from bench.cpu import CpuReading
from bench.profiles import PROFILES
from bench.report import attach_relay_ratios, sweep_summary, targets
from bench.scenarios import knee_search

REPO_ROOT = Path(__file__).resolve().parents[2]


def _step(offered: float, *, healthy: bool, p50: float, p99: float, cpu: float, lost: int = 0, role="search") -> dict:
    return {
        "role": role,
        "offeredPerSecond": offered,
        "deliveredPerSecond": offered if healthy else offered * 0.8,
        "latencyMs": {"p50": p50, "p99": p99},
        "serverCpuMsPerMessage": cpu,
        "lost": lost,
        "healthy": healthy,
        "cores": {"server": 0.5, "load": 0.1, "postgres": 0.2, "redis": 0.05, "other": 0.15, "machine": 1.0},
    }


def _sweep(app: str, processes: int, steps: list[dict], half: dict | None, overload: dict | None = None) -> dict:
    healthy = [step["deliveredPerSecond"] for step in steps if step["healthy"]]
    sweep = {
        "server": "uvicorn",
        "app": app,
        "processes": processes,
        "transport": "ws",
        "steps": steps,
        "halfRateStep": half,
        "overloadStep": overload,
        "sustainedPerSecond": max(healthy, default=0.0),
        "saturatingOfferedPerSecond": None,
    }
    sweep["summary"] = sweep_summary(sweep, reference_rate=25.0)
    return sweep


def _overload(*, refused: int = 120, lost: int = 0, dropped: int = 0) -> dict:
    step = _step(141.4, healthy=False, p50=400.0, p99=600.0, cpu=4.2, lost=lost, role="twice the knee")
    step.update(refusedInFlight=refused // 2, refusedDeliveryLag=refused - refused // 2, dropped=dropped)
    return step


def _ours(processes: int = 1, *, lost_past_knee: int = 0, overload: dict | None = None) -> dict:
    return _sweep(
        "ours",
        processes,
        [
            _step(25.0, healthy=True, p50=20.0, p99=30.0, cpu=6.0),
            _step(50.0, healthy=True, p50=22.0, p99=40.0, cpu=5.0),
            _step(100.0, healthy=False, p50=900.0, p99=2000.0, cpu=4.0, lost=lost_past_knee),
            _step(70.7, healthy=True, p50=30.0, p99=80.0, cpu=4.5),
        ],
        _step(35.4, healthy=True, p50=21.0, p99=45.0, cpu=5.5, role="half of knee"),
        overload if overload is not None else _overload(),
    )


def _relay(processes: int = 1) -> dict:
    return _sweep(
        "relay",
        processes,
        [_step(25.0, healthy=True, p50=8.0, p99=12.0, cpu=3.0), _step(100.0, healthy=True, p50=6.0, p99=9.0, cpu=2.0)],
        _step(50.0, healthy=True, p50=5.0, p99=8.0, cpu=2.5, role="half of knee"),
    )


def test_summary_takes_the_reference_rate_step_the_best_healthy_step_and_the_half_knee_step():
    summary = _ours()["summary"]

    assert summary["knee"] == 70.7
    assert (summary["atReference"]["p50"], summary["atReference"]["serverCpuMsPerMessage"]) == (20.0, 6.0)
    assert (summary["atKnee"]["offeredPerSecond"], summary["atKnee"]["serverCpuMsPerMessage"]) == (70.7, 4.5)
    assert (summary["atHalfKnee"]["p50"], summary["atHalfKnee"]["p99"]) == (21.0, 45.0)
    assert summary["atKnee"]["cores"]["postgres"] == 0.2


def test_summary_counts_messages_lost_past_the_knee():
    assert _ours(lost_past_knee=3)["summary"]["lost"] == 3


def test_summary_sums_the_drops_the_servers_counted_and_has_none_where_they_count_none():
    ours = _ours()
    for step, dropped in zip(ours["steps"], (0, 0, 5, 1), strict=True):
        step["dropped"] = dropped

    assert sweep_summary(ours, reference_rate=25.0)["dropped"] == 6
    assert _relay()["summary"]["dropped"] is None


def test_relay_ratios_compare_knee_cpu_and_p50_with_the_relay_of_the_same_process_count():
    ours, ours_two, relay, relay_two = _ours(1), _ours(2), _relay(1), _relay(2)
    relay_two["summary"]["knee"] = 200.0

    attach_relay_ratios([ours, ours_two], [relay, relay_two])

    assert ours["toRelay"] == {"knee": 0.707, "cpuAtReference": 2.0, "p50AtReference": 2.5}
    assert ours_two["toRelay"]["knee"] == 0.354


def test_issue_15_targets_judge_each_goal_against_the_relay():
    ours, relay = _ours(), _relay()
    attach_relay_ratios([ours], [relay])

    judged = {t["target"]: t["met"] for t in targets({"delivery": [ours, relay]}) if t["issue"] == 15}

    assert judged == {
        "knee >= 0.6 x the relay's": True,
        "server CPU per message at 25/s <= 1.5 x the relay's": False,
        "p50 at 25/s <= 2.0 x the relay's": False,
        "p99 <= 50 ms at half the knee": True,
        "at twice the knee: the excess answered 503, nothing lost or dropped": True,
        "no accepted message lost, past the knee too": True,
    }


def _twice_the_knee_target(sweep: dict) -> dict:
    (target,) = [t for t in targets({"delivery": [sweep]}) if t["target"].startswith("at twice the knee")]
    return target


def test_twice_the_knee_is_met_when_the_excess_is_refused_and_nothing_is_lost_or_dropped():
    target = _twice_the_knee_target(_ours())

    assert target["met"] is True
    assert target["measured"] == "141.4 msgs/s offered: 120 answered 503, 0 lost, 0 dropped"


def test_twice_the_knee_is_not_met_when_a_push_was_dropped_or_nothing_refused():
    assert _twice_the_knee_target(_ours(overload=_overload(dropped=3)))["met"] is False
    assert _twice_the_knee_target(_ours(overload=_overload(refused=0)))["met"] is False


def test_losses_at_twice_the_knee_count_among_the_sweeps_losses():
    assert _ours(overload=_overload(lost=2))["summary"]["lost"] == 2


def test_two_processes_are_judged_against_one_processs_knee():
    one, two = _ours(1), _ours(2)
    two["summary"]["knee"] = 120.0

    gains = [t for t in targets({"delivery": [one, two]}) if t["target"].startswith("2 processes")]

    assert [(t["measured"], t["met"]) for t in gains] == [("120.0 vs 70.7 msgs/s = 1.697 x", True)]


def test_cpu_reading_splits_the_machines_busy_cores_among_the_named_groups_and_other():
    before = CpuReading(at=10.0, groups={"server": 1.0, "postgres": 5.0}, machine=100.0)
    after = CpuReading(at=12.0, groups={"server": 2.0, "postgres": 5.5}, machine=103.0)

    assert after.cores_since(before) == {"server": 0.5, "postgres": 0.25, "other": 0.75, "machine": 1.5}


def test_cpu_reading_names_postgresql_and_redis():
    assert {"postgres", "redis"} <= CpuReading.now({}).groups.keys()


def _search(knee: float, profile=PROFILES["full"]) -> list[float]:
    offered = []

    def step(rate: float, role: str) -> dict:
        offered.append(rate)
        return {"offeredPerSecond": rate, "healthy": rate <= knee}

    knee_search(profile, step)
    return offered


def test_knee_search_doubles_from_25_per_second_then_bisects_three_times():
    assert _search(knee=60.0) == [25.0, 50.0, 100.0, 70.7, 59.5, 64.9]


def test_knee_search_halves_when_even_25_per_second_is_unhealthy_then_bisects():
    assert _search(knee=15.0) == [25.0, 12.5, 17.7, 14.9, 16.2]


def test_knee_search_stops_halving_at_the_profiles_lowest_rate():
    assert _search(knee=1.0) == [25.0, 12.5, 6.25]


def _refused_usage(*args: str) -> str:
    """Run the bench's command line; it must exit with a usage error (2), before touching any database."""
    refused = subprocess.run(
        [sys.executable, "-m", "bench", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    return refused.stderr


def test_an_ablation_revision_that_is_not_a_commit_is_refused_before_the_run_starts():
    stderr = _refused_usage("--ablation", "HEAD,no-such-revision-anywhere")

    assert "not a commit in this repository: no-such-revision-anywhere" in stderr


def test_an_ablation_without_the_delivery_section_is_refused_before_the_run_starts():
    stderr = _refused_usage("--ablation", "HEAD", "--only", "history")

    assert "--ablation sweeps delivery: add delivery to --only" in stderr
