"""Webhook delivery benchmark: ``python -m bench.webhooks`` with DATABASE_URL naming a PostgreSQL server.

On a database of its own (``bench_webhooks``, dropped and created), with one endpoint pointing at a local
receiver (``bench.webhook_processes``), it measures for 1 and 2 ``run_worker`` processes:

- **drain**: BACKLOG events recorded before the workers start; deliveries per second (the first POST to
  the last) in all and per worker process;
- **lag under load**: events recorded at RATE per second for SECONDS while the workers run; the time from
  the event's ``createdAt`` to the receiver reading its POST (p50, p95, max).

It prints the figures and the machine's load (docs/performance.md, "Webhooks").
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.environment import database_drop, database_recreate, database_url, machine_description
from bench.webhook_processes import WebhookReceiver, WorkerProcess

REPO_ROOT = Path(__file__).resolve().parent.parent
DATABASE = "bench_webhooks"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _record(count: int) -> None:
    from integrations import events
    from integrations.services import event_record

    for number in range(count):
        event_record(events.MESSAGE_CREATED, {"id": number, "seq": number, "content": "bench"})


def _wait_for(receiver: WebhookReceiver, count: int, timeout: float) -> None:
    if not receiver.wait_until(lambda received: len({r.webhook_id for r in received}) >= count, timeout):
        raise SystemExit(f"only {len(receiver.distinct_ids())} of {count} deliveries within {timeout:.0f} s")


def _created_at(request) -> float:
    import json

    return datetime.fromisoformat(json.loads(request.body)["createdAt"].replace("Z", "+00:00")).timestamp()


def run_case(*, processes: int, concurrency: int, backlog: int, rate: int, seconds: int, env: dict, log_dir: Path):
    import django
    from django.db import connections

    django.setup()
    from integrations.models import Endpoint, Event
    from integrations.services import endpoint_create

    Endpoint.objects.all().delete()  # with their deliveries: the previous case's receiver is gone
    Event.objects.all().delete()
    receiver = WebhookReceiver().start()
    endpoint_create(url=receiver.url, events=["*"], by=None)
    _record(backlog)
    connections.close_all()
    workers = [
        WorkerProcess(env=env, log_path=log_dir / f"worker{index}.log", concurrency=concurrency)
        for index in range(processes)
    ]
    try:
        _wait_for(receiver, backlog, 600)
        drained = receiver.received[:]
        span = max(r.at for r in drained) - min(r.at for r in drained)
        per_second = backlog / span if span else float("inf")

        start = len(receiver.received)
        started = time.monotonic()
        for tick in range(rate * seconds):
            _record(1)
            time.sleep(max(0.0, started + (tick + 1) / rate - time.monotonic()))
        connections.close_all()
        _wait_for(receiver, backlog + rate * seconds, 600)
        lags = [request.at - _created_at(request) for request in receiver.received[start:]]
    finally:
        for worker in workers:
            worker.stop()
        receiver.stop()
    return {
        "processes": processes,
        "deliveriesPerSecond": per_second,
        "perWorkerProcess": per_second / processes,
        "lagP50": statistics.median(lags),
        "lagP95": _percentile(lags, 0.95),
        "lagMax": max(lags),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=50, help="events per second while measuring lag")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8, help="threads per worker process")
    parser.add_argument("--processes", default="1,2")
    arguments = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL") or sys.exit("set DATABASE_URL to a PostgreSQL server")
    url = database_url(server_url, DATABASE)
    database_recreate(server_url, DATABASE)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": url,
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WORKER_POLL_SECONDS": "0.2",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO_ROOT, env=env, check=True)
    os.environ.update({key: env[key] for key in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "WEBHOOK_ALLOW_PRIVATE")})
    os.environ.pop("REDIS_URL", None)
    print(f"machine: {machine_description()}")
    try:
        with tempfile.TemporaryDirectory() as log_dir:
            for processes in (int(part) for part in arguments.processes.split(",")):
                result = run_case(
                    processes=processes,
                    concurrency=arguments.concurrency,
                    backlog=arguments.backlog,
                    rate=arguments.rate,
                    seconds=arguments.seconds,
                    env=env,
                    log_dir=Path(log_dir),
                )
                print(
                    f"{processes} worker process(es) x {arguments.concurrency} threads: "
                    f"drain {result['deliveriesPerSecond']:.0f} deliveries/s "
                    f"({result['perWorkerProcess']:.0f} per process); "
                    f"lag at {arguments.rate}/s: p50 {result['lagP50'] * 1000:.0f} ms, "
                    f"p95 {result['lagP95'] * 1000:.0f} ms, max {result['lagMax'] * 1000:.0f} ms"
                )
    finally:
        print(f"load average at end: {os.getloadavg()}")
        from django.db import connections

        connections.close_all()
        database_drop(server_url, DATABASE)


if __name__ == "__main__":
    main()
