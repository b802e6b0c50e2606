"""Writes of the integrations module: events into the outbox, endpoints, and the worker's steps
(fan-out, claim, record) that turn events into signed webhook deliveries."""

import base64
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from integrations import claims, events, outbound
from integrations.models import Delivery, Endpoint, Event
from kernel.errors import Invalid, NotFound


def event_public_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def event_record(type: str, data: dict) -> Event:
    """Write the event ``type`` with ``data`` (the REST shape of what changed) in the caller's transaction:
    it exists exactly when the change commits. The worker fans it out to the endpoints later, so a
    change pays one INSERT for it."""
    return Event.objects.create(public_id=event_public_id(), type=type, data=data)


def _validated_events(value) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise Invalid('events must be a non-empty list of event types, or ["*"].', field="events")
    unknown = sorted(set(value) - set(events.SUBSCRIBABLE))
    if unknown:
        raise Invalid(
            f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(events.SUBSCRIBABLE)}.", field="events"
        )
    return list(dict.fromkeys(value))


def endpoint_create(*, url: str, events: list[str], description: str = "", by) -> Endpoint:
    """Register a receiver; its secret (``whsec_`` and 32 random bytes in base64) is on the returned row."""
    outbound.validate_url(url)
    subscribed = _validated_events(events)
    secret = outbound.SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    return Endpoint.objects.create(url=url, events=subscribed, description=description, secret=secret, created_by=by)


def endpoint_update(*, endpoint_id: int, **changes) -> Endpoint:
    """Change an endpoint's ``url``, ``events``, ``description`` or ``active``."""
    # Checked before the transaction: resolving the URL's host must not hold the row lock.
    if "url" in changes:
        outbound.validate_url(changes["url"])
    if "events" in changes:
        changes["events"] = _validated_events(changes["events"])
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if endpoint is None:
            raise NotFound("No such endpoint.")
        for field, value in changes.items():
            setattr(endpoint, field, value)
        endpoint.save(update_fields=list(changes))
    return endpoint


def endpoint_delete(*, endpoint_id: int) -> None:
    deleted, _ = Endpoint.objects.filter(pk=endpoint_id).delete()
    if not deleted:
        raise NotFound("No such endpoint.")


@transaction.atomic
def endpoint_test(*, endpoint_id: int) -> Delivery:
    """Queue a ``webhook.test`` event for this endpoint alone (whatever it subscribes to)."""
    endpoint = Endpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such endpoint.")
    event = Event.objects.create(
        public_id=event_public_id(),
        type=events.WEBHOOK_TEST,
        data={"endpointId": endpoint.pk},
        fanned_out=True,
    )
    return Delivery.objects.create(event=event, endpoint=endpoint)


def events_fan_out(*, batch: int = 500) -> int:
    """Make the deliveries of up to ``batch`` events not yet fanned out, one per active endpoint that
    takes the event's type and was registered before the event, and hand the events to the outbox's other
    consumers (OUTBOX_EVENT_CONSUMERS); return how many events were handled.

    Workers skip each other's locked events (PostgreSQL), and the unique (event, endpoint) pair makes a
    delivery once even so."""
    with transaction.atomic():
        pending = list(
            Event.objects.select_for_update(skip_locked=True).filter(fanned_out=False).order_by("id")[:batch]
        )
        if not pending:
            return 0
        endpoints = list(Endpoint.objects.filter(active=True))
        now = timezone.now()
        Delivery.objects.bulk_create(
            [
                Delivery(event=event, endpoint=endpoint, next_attempt_at=now, created_at=now)
                for event in pending
                for endpoint in endpoints
                if endpoint.takes(event.type) and endpoint.created_at <= event.created_at
            ],
            ignore_conflicts=True,
        )
        for consumer in _event_consumers():
            consumer(pending)
        Event.objects.filter(pk__in=[event.pk for event in pending]).update(fanned_out=True)
    return len(pending)


def _event_consumers() -> list:
    """OUTBOX_EVENT_CONSUMERS, imported: functions handed each batch of events in the fan-out's transaction
    (``notifications.services.notifications_schedule_for_events``), so a change pays nothing more for them
    and each event reaches them once."""
    return [import_string(path) for path in settings.OUTBOX_EVENT_CONSUMERS]


@dataclass(frozen=True)
class Claim:
    """A delivery a worker holds until ``claimed_until``: what it needs to POST it without the database."""

    delivery_id: int
    token: uuid.UUID
    attempts: int
    url: str
    secret: str
    message_id: str
    body: bytes


def deliveries_claim(*, limit: int) -> list[Claim]:
    """Claim up to ``limit`` of the oldest due deliveries no other worker holds (``claims.rows_claim``): the
    POSTs happen outside any transaction. A claim whose lease lapsed (its worker died) is taken over."""
    token, deliveries = claims.rows_claim(
        Delivery.objects.select_related("event", "endpoint").filter(
            status=Delivery.Status.PENDING, next_attempt_at__lte=timezone.now(), endpoint__active=True
        ),
        limit=limit,
        lease_seconds=settings.WEBHOOK_CLAIM_LEASE_SECONDS,
        order_by=("next_attempt_at", "id"),
    )
    return [
        Claim(
            delivery_id=delivery.pk,
            token=token,
            attempts=delivery.attempts,
            url=delivery.endpoint.url,
            secret=delivery.endpoint.secret,
            message_id=delivery.event.public_id,
            body=json.dumps(events.envelope(delivery.event), separators=(",", ":")).encode(),
        )
        for delivery in deliveries
    ]


def retry_delay(attempt: int) -> float | None:
    """Seconds to wait after failed attempt number ``attempt`` (1-based), jittered; ``None`` after the last."""
    return claims.retry_delay(attempt, schedule=settings.WEBHOOK_RETRY_SCHEDULE, jitter=settings.WEBHOOK_RETRY_JITTER)


def delivery_attempt(claim: Claim) -> bool:
    """POST the claimed delivery and record the answer; ``False`` if the claim was lost meanwhile."""
    attempt = outbound.post(
        url=claim.url,
        secret=claim.secret,
        message_id=claim.message_id,
        timestamp=int(timezone.now().timestamp()),
        body=claim.body,
    )
    return delivery_record(claim, attempt)


@transaction.atomic
def delivery_record(claim: Claim, attempt: outbound.Attempt) -> bool:
    """Record ``attempt`` if ``claim`` still holds the delivery: delivered on a 2xx; failed and its endpoint
    disabled on a 410; otherwise pending again after the schedule's next delay, or failed after the last."""
    now = timezone.now()
    attempts = claim.attempts + 1
    fields: dict = {
        "attempts": attempts,
        "last_attempt_at": now,
        "last_status_code": attempt.status_code,
        "last_error": attempt.error,
    }
    delay = retry_delay(attempts)
    if attempt.succeeded:
        fields["status"] = Delivery.Status.DELIVERED
    elif attempt.status_code == 410 or delay is None:
        fields["status"] = Delivery.Status.FAILED
    else:
        fields["next_attempt_at"] = now + timedelta(seconds=delay)
    recorded = claims.claimed_row_record(Delivery, pk=claim.delivery_id, token=claim.token, **fields)
    if recorded and attempt.status_code == 410:
        # 410 Gone: the receiver says it is gone for good (Standard Webhooks); nothing more goes to it.
        Endpoint.objects.filter(deliveries__pk=claim.delivery_id).update(active=False)
    return bool(recorded)


def deliveries_retry(*, delivery_ids: list[int]) -> int:
    """Staff's retry: the deliveries are pending and due now, attempted again from their next attempt on."""
    return Delivery.objects.filter(pk__in=delivery_ids).update(
        status=Delivery.Status.PENDING, next_attempt_at=timezone.now(), claim_token=None, claimed_until=None
    )
