"""The worker's email jobs (WORKER_JOB_KINDS): each round it makes due reminders, then claims due notifications
and sends them (``notifications.services``); offline notices, digests and invitations are scheduled by the
outbox's fan-out (OUTBOX_EVENT_CONSUMERS)."""

from integrations.worker import JobKind
from notifications import services

EMAILS = JobKind(
    name="email",
    prepare=services.reminders_schedule,
    claim=lambda limit: services.notifications_claim(limit=limit),
    attempt=services.notification_attempt,
)
