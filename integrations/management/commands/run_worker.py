"""``manage.py run_worker``: deliver webhooks and send emails until SIGINT or SIGTERM (integrations.worker)."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from integrations import worker


class Command(BaseCommand):
    help = (
        "Deliver the outbox's events to the registered webhook endpoints (docs/integration.md) and send the "
        "emails (docs/notifications.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--concurrency", type=int, default=settings.WORKER_CONCURRENCY)

    def handle(self, *args, concurrency: int, **options):
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(
            f"Worker: {concurrency} threads, jobs: {', '.join(kind.name for kind in worker.job_kinds())}."
        )
        self.stdout.flush()
        worker.run(concurrency=concurrency, stop=stop)
