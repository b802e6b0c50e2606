"""The delivery worker (``manage.py run_worker``): one claim loop feeding WORKER_CONCURRENCY threads.

Why a claim loop and not a task queue: a delivery is claimed with a lease (``services.deliveries_claim``),
posted outside any transaction, and recorded only under the claim's token. A worker killed mid-POST loses
nothing (its lease lapses and another worker posts again, with the same ``webhook-id``) and two live
workers never make one attempt at once (docs/integration.md, "The worker").
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connections

from integrations import services

logger = logging.getLogger(__name__)


def work_once() -> bool:
    """One step, in the caller's thread: fan out new events, then claim and attempt one due delivery.
    ``True`` if there was anything to do."""
    fanned_out = services.events_fan_out()
    claims = services.deliveries_claim(limit=1)
    for claim in claims:
        services.delivery_attempt(claim)
    return bool(fanned_out or claims)


def _attempt(claim: services.Claim, free: threading.Semaphore) -> None:
    try:
        services.delivery_attempt(claim)
    except Exception:
        # Not recorded: the claim's lease lapses and the delivery is attempted again.
        logger.exception("webhook delivery %s failed to record", claim.delivery_id)
    finally:
        connections.close_all()
        free.release()


def run(*, concurrency: int, stop: threading.Event) -> None:
    """Until ``stop`` is set: fan out, claim as many due deliveries as there are idle threads, hand them to
    the threads; sleep WORKER_POLL_SECONDS when nothing is due. Attempts in flight finish before it returns."""
    free = threading.Semaphore(concurrency)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook") as pool:
        while not stop.is_set():
            free.acquire()  # at least one idle thread
            idle = 1
            while idle < concurrency and free.acquire(blocking=False):
                idle += 1
            close_old_connections()
            try:
                services.events_fan_out()
                claims = services.deliveries_claim(limit=idle)
            except Exception:
                # The database went away, say: try again after the poll interval.
                logger.exception("webhook worker step failed")
                claims = []
            for claim in claims:
                pool.submit(_attempt, claim, free)
            for _ in range(idle - len(claims)):
                free.release()
            if not claims:
                stop.wait(settings.WORKER_POLL_SECONDS)
    connections.close_all()
