"""Service requests, providers' proposals on them, and the projects an accepted proposal becomes.

A project's terms (price, scope, deadline) are copied from the proposal at acceptance and locked,
together with a snapshot of the proposal and the SHA-256 of that snapshot.
"""

import hashlib
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from kernel.errors import Conflict
from kernel.json_values import canonical_json

LOCKED_PROPOSAL_FIELDS = ("price", "scope", "deadline", "request_id", "provider_id", "status")
LOCKED_PROJECT_FIELDS = (
    "price",
    "scope",
    "deadline",
    "terms_snapshot",
    "terms_hash",
    "proposal_id",
    "request_id",
    "client_id",
    "provider_id",
    "public_id",
)


class TermsLocked(Conflict):
    code = "terms_locked"


class AcceptanceRequired(Conflict):
    code = "acceptance_required"


def _changed_fields(instance: models.Model, fields: tuple[str, ...]) -> list[str]:
    stored = type(instance)._default_manager.filter(pk=instance.pk).values(*fields).first()
    if stored is None:
        return []
    return [name for name in fields if stored[name] != getattr(instance, name)]


class ServiceRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CONVERTED = "converted", "Converted to a project"
        CLOSED = "closed", "Closed"

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="service_requests")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    budget = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Proposal(models.Model):
    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Submitted"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    request = models.ForeignKey(ServiceRequest, on_delete=models.PROTECT, related_name="proposals")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposals")
    price = models.DecimalField(max_digits=12, decimal_places=2)
    scope = models.TextField()
    deadline = models.DateField()
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUBMITTED, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="proposal_price_positive", condition=models.Q(price__gt=Decimal("0"))),
            models.UniqueConstraint(
                fields=["request", "provider"],
                condition=models.Q(status="submitted"),
                name="proposal_one_live_per_provider_and_request",
            ),
            models.UniqueConstraint(
                fields=["request"], condition=models.Q(status="accepted"), name="proposal_one_accepted_per_request"
            ),
        ]

    def __str__(self) -> str:
        return f"Proposal #{self.pk} on {self.request_id}"

    def terms_snapshot(self) -> dict:
        return {
            "proposalId": self.pk,
            "requestId": self.request_id,
            "providerId": self.provider_id,
            "clientId": self.request.client_id,
            "title": self.request.title,
            "price": str(self.price),
            "scope": self.scope,
            "deadline": self.deadline.isoformat(),
        }

    @property
    def terms_hash(self) -> str:
        return terms_hash_of(self.terms_snapshot())

    # True from accept() until the save that stores it: the one save allowed to turn a proposal accepted,
    # and the one for which the post_save receiver creates the project.
    _accepting = False

    def accept(self) -> None:
        """Mark the proposal accepted; only ``projects.services.proposal_accept`` calls it, once its checks pass."""
        self.status = self.Status.ACCEPTED
        self.accepted_at = timezone.now()
        self._accepting = True

    @property
    def is_being_accepted(self) -> bool:
        return self._accepting

    def save(self, *args, **kwargs):
        stored_status = None
        if self.pk is not None:
            stored_status = type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored_status == self.Status.ACCEPTED:
                changed = _changed_fields(self, LOCKED_PROPOSAL_FIELDS)
                if changed:
                    raise TermsLocked(f"An accepted proposal is locked; cannot change {', '.join(changed)}.")
        # Refused before the row is written: stored without its project, an accepted proposal could never be
        # fixed (its status is locked) and would block every other proposal on the request.
        if self.status == self.Status.ACCEPTED and stored_status != self.Status.ACCEPTED and not self._accepting:
            raise AcceptanceRequired(
                "A proposal is accepted only through proposal_accept, which checks the provider, the request "
                "and the expiry and creates the project."
            )
        super().save(*args, **kwargs)
        self._accepting = False


def terms_hash_of(snapshot: dict) -> str:
    return hashlib.sha256(canonical_json(snapshot)).hexdigest()


class Project(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    proposal = models.OneToOneField(Proposal, on_delete=models.PROTECT, related_name="project")
    request = models.OneToOneField(ServiceRequest, on_delete=models.PROTECT, related_name="project")
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="client_projects")
    provider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="provider_projects")
    title = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    scope = models.TextField()
    deadline = models.DateField()
    terms_snapshot = models.JSONField()
    terms_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def terms_verify(self) -> bool:
        return terms_hash_of(self.terms_snapshot) == self.terms_hash

    def save(self, *args, **kwargs):
        if self.pk is not None:
            changed = _changed_fields(self, LOCKED_PROJECT_FIELDS)
            if changed:
                raise TermsLocked(f"A project's terms are locked; cannot change {', '.join(changed)}.")
        super().save(*args, **kwargs)


class ProjectMember(models.Model):
    """A teammate of one side of a project, added by that side's owner (the project's client or provider, who
    need no row: the project's locked fields name them). A member reads and writes the conversation and takes
    part in the meetings as the owners do, for as long as they are a participant of the conversation."""

    class Side(models.TextChoices):
        CLIENT = "client", "Client's side"
        PROVIDER = "provider", "Provider's side"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_memberships")
    side = models.CharField(max_length=8, choices=Side.choices)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="project_member_once_per_project"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.side}) in {self.project_id}"
