"""The delivery worker (``manage.py run_worker``): WORKER_CONCURRENCY threads, each a claim loop.

Why a claim loop and not a task queue: a delivery is claimed with a lease (``services.delivery_claim``),
posted outside any transaction, and recorded only under the claim's token. A worker killed mid-POST loses
nothing (its lease lapses and another worker posts again, with the same ``webhook-id``) and two live
workers never make one attempt at once (docs/integration.md, "The worker").
"""

import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connections

from integrations import services

logger = logging.getLogger(__name__)


def work_once() -> bool:
    """One step of a loop: fan out new events, then claim and attempt one due delivery. ``True`` if there
    was anything to do (so the loop goes on at once rather than sleeping)."""
    fanned_out = services.events_fan_out()
    claim = services.delivery_claim()
    if claim is not None:
        services.delivery_attempt(claim)
    return bool(fanned_out) or claim is not None


def _loop(stop: threading.Event) -> None:
    try:
        while not stop.is_set():
            close_old_connections()
            try:
                busy = work_once()
            except Exception:
                # A database that went away, say: log it and try again after the poll interval.
                logger.exception("webhook worker step failed")
                busy = False
            if not busy:
                stop.wait(settings.WORKER_POLL_SECONDS)
    finally:
        connections.close_all()


def run(*, concurrency: int, stop: threading.Event) -> None:
    """Run ``concurrency`` claim loops until ``stop`` is set."""
    threads = [
        threading.Thread(target=_loop, args=(stop,), name=f"webhook-worker-{index}", daemon=True)
        for index in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
