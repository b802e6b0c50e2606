"""The background worker (``manage.py run_worker``): one claim loop feeding WORKER_CONCURRENCY threads, for
every kind of job in WORKER_JOB_KINDS (webhook deliveries here, emails in ``notifications.jobs``).

Why a claim loop and not a task queue: a job is claimed with a lease (``integrations.claims``), carried out
outside any transaction, and recorded only under the claim's token. A worker killed mid-POST or mid-SMTP
loses nothing (its lease lapses and another worker tries again) and two live workers never make one attempt
at once (docs/integration.md, "The worker").
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils.module_loading import import_string

from integrations import services

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobKind:
    """One kind of job: ``prepare`` makes new jobs due (fan-out, a schedule) and returns how many things it
    handled; ``claim(limit)`` claims up to ``limit`` due jobs; ``attempt(claim)`` carries one out and records
    it under its claim."""

    name: str
    prepare: Callable[[], int]
    claim: Callable[[int], list]
    attempt: Callable[[Any], object]


WEBHOOK_DELIVERIES = JobKind(
    name="webhook",
    prepare=services.events_fan_out,
    claim=lambda limit: services.deliveries_claim(limit=limit),
    attempt=services.delivery_attempt,
)


def job_kinds() -> list[JobKind]:
    return [import_string(path) for path in settings.WORKER_JOB_KINDS]


def work_once() -> bool:
    """One step, in the caller's thread: each kind prepares, then claims and attempts one due job.
    ``True`` if there was anything to do."""
    busy = False
    for kind in job_kinds():
        busy = bool(kind.prepare()) or busy
        for claim in kind.claim(1):
            kind.attempt(claim)
            busy = True
    return busy


def _attempt(kind: JobKind, claim, free: threading.Semaphore) -> None:
    try:
        kind.attempt(claim)
    except Exception:
        # Not recorded: the claim's lease lapses and the job is attempted again.
        logger.exception("%s job %s failed to record", kind.name, claim)
    finally:
        connections.close_all()
        free.release()


def _claim_all(kinds: list[JobKind], idle: int) -> list[tuple[JobKind, Any]]:
    """Prepare every kind, then claim up to ``idle`` jobs, kind after kind."""
    claimed: list[tuple[JobKind, Any]] = []
    for kind in kinds:
        kind.prepare()
    for kind in kinds:
        if len(claimed) < idle:
            claimed += [(kind, claim) for claim in kind.claim(idle - len(claimed))]
    return claimed


def run(*, concurrency: int, stop: threading.Event) -> None:
    """Until ``stop`` is set: prepare, claim as many due jobs as there are idle threads, hand them to the
    threads; sleep WORKER_POLL_SECONDS when nothing is due. Attempts in flight finish before it returns.

    Kinds are claimed in WORKER_JOB_KINDS order each round; a kind that keeps every thread busy delays the
    next kind's jobs by at most one round of attempts."""
    kinds = job_kinds()
    free = threading.Semaphore(concurrency)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="job") as pool:
        while not stop.is_set():
            free.acquire()  # at least one idle thread
            idle = 1
            while idle < concurrency and free.acquire(blocking=False):
                idle += 1
            close_old_connections()
            try:
                claimed = _claim_all(kinds, idle)
            except Exception:
                # The database went away, say: try again after the poll interval.
                logger.exception("worker step failed")
                claimed = []
            for kind, claim in claimed:
                pool.submit(_attempt, kind, claim, free)
            for _ in range(idle - len(claimed)):
                free.release()
            if not claimed:
                stop.wait(settings.WORKER_POLL_SECONDS)
    connections.close_all()
