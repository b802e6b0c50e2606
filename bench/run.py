"""One benchmark run: the bench database, the seeds, each server in turn, the report and its JSON."""

import json
import os
import time
import traceback
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import django

from bench import ablation, environment
from bench.profiles import Profile
from bench.report import attach_relay_ratios, render, targets

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@contextmanager
def _section(results: dict, name: str):
    """Time a section; a failure is recorded with its traceback and the run goes on to the next one."""
    started = time.perf_counter()
    try:
        yield
    except Exception:
        results["errors"].append({"section": name, "traceback": traceback.format_exc()})
        print(f"  {name}: FAILED\n{results['errors'][-1]['traceback']}", flush=True)
    finally:
        results["sectionSeconds"][name] = round(time.perf_counter() - started, 1)
        print(f"  {name}: {results['sectionSeconds'][name]} s", flush=True)


def run(
    profile: Profile,
    *,
    database_server: str,
    redis_url: str,
    database_name: str,
    output: Path | None,
    drop_database: bool,
) -> dict:
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    output = output or RESULTS_DIR / f"{stamp}.json"
    log_dir = output.parent / f"{output.stem}-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    open_files = environment.raise_open_files_limit()
    database = environment.database_url(database_server, database_name)
    base_env = environment.server_environment(database=database, redis_url=redis_url, run_id=stamp)
    env = base_env | dict(override.split("=", 1) for override in profile.server_env)
    # This process reads and seeds the same database and signs JWTs with the servers' key;
    # the --server-env overrides are for the servers only.
    os.environ.update(base_env)
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from bench import scenarios, seed  # models import only once Django is set up
    from bench.load import LoadPool

    layer_config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    results = {
        "startedAt": started.isoformat(timespec="seconds"),
        "revision": environment.git_revision(),
        "machine": environment.machine_description(),
        "versions": environment.versions(server_url=database_server, redis_url=redis_url),
        "parameters": {
            **asdict(profile),
            "openFilesLimit": open_files,
            "database": database_name,
            "channelLayer": {key: value for key, value in layer_config.items() if key != "hosts"},
        },
        "sectionSeconds": {},
        "errors": [],
    }
    sections = set(profile.sections)
    print(f"bench: {profile.mode} mode, logs in {log_dir}", flush=True)
    try:
        # Without its database and seeds nothing else can run, so a failure here ends the run.
        started_seeding = time.perf_counter()
        environment.database_recreate(database_server, database_name)
        call_command("migrate", interactive=False, verbosity=0)
        seeds = scenarios.Seeds(pairs=seed.pairs_create("pair", profile.pairs))
        if "list" in sections:
            seeds.lister = seed.user_with_conversations(profile.list_conversations)
        if "history" in sections:
            seeds.history = seed.history_create(profile.history_messages)
        if "capacity" in sections:
            seeds.idle_users = seed.users_create("idle-", profile.capacity_sockets)
        token_gap = scenarios.token_route_missing() if "tokens" in sections else None
        if "tokens" in sections and token_gap is None:
            seeds.meeting_id = seed.meeting_create(seeds.pairs[0])
        seed.database_vacuum()
        results["sectionSeconds"]["database and seeds"] = round(time.perf_counter() - started_seeding, 1)
        with LoadPool(profile.load_processes) as load:
            bench = scenarios.Bench(
                profile=profile,
                load=load,
                env=env,
                log_dir=log_dir,
                database_server=database_server,
                database_name=database_name,
                seeds=seeds,
            )
            for kind in profile.servers:
                _run_server(bench, kind, results, sections, token_gap)
        relays = [sweep for sweep in results.get("delivery", []) if sweep["app"] == "relay"]
        for sweeps in (results.get("delivery", []), results.get("ablation", [])):
            attach_relay_ratios([sweep for sweep in sweeps if sweep["app"] == "ours"], relays)
        with _section(results, "query counts"):
            results["queryCounts"] = scenarios.query_counts(bench)
    finally:
        results["channelLayerLeftovers"] = environment.channel_layer_leftovers(redis_url, env["CHANNEL_LAYER_PREFIX"])
        if drop_database:
            environment.database_drop(database_server, database_name)
    results["finishedAt"] = datetime.now(UTC).isoformat(timespec="seconds")
    # Other work on the machine shows here: the run cannot stop it, only report it.
    results["machine"]["loadAverageAtEnd"] = os.getloadavg()
    results["targets"] = targets(results)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, default=str))
    print(render(results))
    print(f"\nJSON: {output}")
    return results


def _run_server(bench, kind: str, results: dict, sections: set, token_gap: str | None) -> None:
    """Every section on one server kind: the product, then the relay, then a fresh process for capacity.

    All of its processes start at once, which halves the waiting; until used they sit idle at no CPU.
    """
    from bench import scenarios

    profile = bench.profile
    print(f"bench: {kind}", flush=True)
    with ExitStack() as stack, _section(results, f"{kind}: servers"):

        def launched(app: str, count: int):
            fleet = bench.fleet(kind=kind, app=app, count=count)
            stack.callback(fleet.stop)
            return fleet

        ours = launched("ours", max(profile.processes))
        relay = launched("relay", max(profile.processes)) if "delivery" in sections else None
        fresh = launched("ours", 1) if "capacity" in sections else None
        with ours:
            first = ours.processes[0]
            if "typing" in sections:
                with _section(results, f"typing ({kind})"):
                    # What typing costs the database is a property of the code, not of the server: measured once.
                    results.setdefault("typing", []).append(
                        scenarios.typing_storm(bench, first, measure_database=kind == profile.servers[0])
                    )
            if "delivery" in sections:
                for processes in profile.processes:
                    for transport in profile.transports:
                        with _section(results, f"delivery ours ({kind} x{processes}, {transport})"):
                            results.setdefault("delivery", []).append(
                                scenarios.delivery_sweep(bench, ours, processes, transport)
                            )
            if "history" in sections:
                with _section(results, f"history ({kind})"):
                    results.setdefault("history", []).append(scenarios.history_pages(bench, first))
            if "list" in sections:
                with _section(results, f"conversation list ({kind})"):
                    results.setdefault("conversationList", []).extend(scenarios.conversation_list(bench, first))
            if "tokens" in sections:
                with _section(results, f"tokens ({kind})"):
                    if token_gap is None:
                        results.setdefault("tokens", []).append(scenarios.token_issuance(bench, first))
                    else:
                        results["tokens"] = {"available": False, "reason": token_gap}
        if relay is not None:
            with relay:
                for processes in profile.processes:
                    with _section(results, f"delivery relay ({kind} x{processes})"):
                        results.setdefault("delivery", []).append(scenarios.delivery_sweep(bench, relay, processes))
        if "delivery" in sections:
            _run_ablation(bench, kind, results)
        if fresh is not None:
            with fresh, _section(results, f"capacity ({kind})"):
                results.setdefault("capacity", []).append(scenarios.connection_capacity(bench, fresh.processes[0]))


def _run_ablation(bench, kind: str, results: dict) -> None:
    """Each revision served from its own worktree, swept alone: one process count, one transport."""
    from bench import scenarios

    profile = bench.profile
    processes, transport = profile.processes[0], profile.transports[0]
    for revision in profile.ablation:
        with _section(results, f"ablation {revision.name} ({kind} x{processes}, {transport})"):
            with ablation.checked_out(revision) as tree:
                ablation.schema_migrate(tree, bench.env, bench.log_dir / f"migrate-{revision.commit[:12]}.log")
                with bench.fleet(kind=kind, app="ours", count=processes, root=tree) as fleet:
                    sweep = scenarios.delivery_sweep(bench, fleet, processes, transport)
            results.setdefault("ablation", []).append({**sweep, "revision": asdict(revision)})
