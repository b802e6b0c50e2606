"""Users of the marketplace: clients, providers (with an approval status) and support staff."""

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    class Role(models.TextChoices):
        CLIENT = "client", "Client"
        PROVIDER = "provider", "Provider"

    class ProviderStatus(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SUSPENDED = "suspended", "Suspended"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CLIENT)
    provider_status = models.CharField(
        max_length=16, choices=ProviderStatus.choices, blank=True, default="",
        help_text="Only providers have one; only approved providers may have proposals accepted.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="user_provider_status_only_for_providers",
                condition=(models.Q(role="provider") & ~models.Q(provider_status=""))
                | (models.Q(role="client") & models.Q(provider_status="")),
            ),
        ]

    @property
    def is_approved_provider(self) -> bool:
        return self.role == self.Role.PROVIDER and self.provider_status == self.ProviderStatus.APPROVED

    @property
    def is_suspended_provider(self) -> bool:
        return self.role == self.Role.PROVIDER and self.provider_status == self.ProviderStatus.SUSPENDED


class WebSocketTicket(models.Model):
    """A single-use, short-lived credential for opening ``/ws/``; only its hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="ws_tickets")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    @staticmethod
    def digest_of(ticket: str) -> str:
        return hashlib.sha256(ticket.encode()).hexdigest()
