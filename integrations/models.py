"""The outbox and its webhooks: every domain event as a row written with the change it describes, the
endpoints support staff register, and one delivery of each event to each endpoint subscribed to it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Event(models.Model):
    """One domain event, written in the transaction of its change (``services.event_record``): no change,
    no event. ``fanned_out`` turns true once the worker has made its deliveries."""

    public_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    data = models.JSONField()
    fanned_out = models.BooleanField(default=False)

    class Meta:
        indexes = [
            # The worker's fan-out scans only the events it has not yet fanned out, oldest first.
            models.Index(fields=["id"], condition=Q(fanned_out=False), name="event_to_fan_out"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"


class Endpoint(models.Model):
    """A receiver's URL and the event types it takes (``["*"]``: all). The secret signs every delivery;
    it is shown once, when the endpoint is created."""

    url = models.URLField(max_length=2000)
    events = models.JSONField()
    description = models.CharField(max_length=500, blank=True)
    active = models.BooleanField(default=True)
    secret = models.CharField(max_length=100, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url

    def takes(self, event_type: str) -> bool:
        return "*" in self.events or event_type in self.events


class Delivery(models.Model):
    """One event for one endpoint, tried until a 2xx, a 410 or the end of the retry schedule.

    A worker claims it by writing a fresh ``claim_token`` and a lease (``claimed_until``) and committing;
    it records the attempt only while the token is still its own, so a claim another worker took over
    after the lease lapsed cannot be overwritten by the late one."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            # Fan-out by concurrent workers makes each event's delivery to an endpoint once.
            models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_once_per_endpoint"),
        ]
        indexes = [
            # The claim: pending deliveries that are due, in creation order.
            models.Index(fields=["next_attempt_at", "id"], condition=Q(status="pending"), name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"
