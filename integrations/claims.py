"""A claim with a lease: how every job of the worker (``integrations.worker``) is taken and recorded.

A row is claimed by writing a fresh ``claim_token`` and a lease (``claimed_until``) and committing at once, so
the slow part (a POST, an SMTP conversation) happens outside any transaction; its outcome is recorded only
while the token is still the claimer's, so a claim another worker took over after the lease lapsed cannot be
overwritten by the late one. The model needs ``claim_token`` and ``claimed_until`` columns.
"""

import random
import uuid
from datetime import timedelta

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone


def rows_claim(queryset: models.QuerySet, *, limit: int, lease_seconds: float, order_by: tuple[str, ...]) -> tuple:
    """Claim up to ``limit`` rows of ``queryset`` (already filtered to what is due) that no live claim holds:
    ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, then the token and the lease. Returns the token and
    the claimed rows (as read before the claim), oldest first; a claim whose lease lapsed is taken over."""
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            queryset.select_for_update(skip_locked=True, of=("self",))
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            .order_by(*order_by)[:limit]
        )
        if not rows:
            return None, []
        token = uuid.uuid4()
        queryset.model._default_manager.filter(pk__in=[row.pk for row in rows]).update(
            claim_token=token, claimed_until=now + timedelta(seconds=lease_seconds)
        )
    return token, rows


def claimed_row_record(model: type[models.Model], *, pk: int, token: uuid.UUID, **fields) -> bool:
    """Write ``fields`` (and release the claim) if ``token`` still holds the row; ``False`` if it was lost."""
    return bool(
        model._default_manager.filter(pk=pk, claim_token=token).update(claim_token=None, claimed_until=None, **fields)
    )


def retry_delay(attempt: int, *, schedule: list[float], jitter: float) -> float | None:
    """Seconds to wait after failed attempt number ``attempt`` (1-based), moved by up to ``jitter`` of itself
    so retries of many rows spread out; ``None`` after the schedule's last."""
    if attempt > len(schedule):
        return None
    return schedule[attempt - 1] * random.uniform(1 - jitter, 1 + jitter)
