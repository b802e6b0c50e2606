"""Users of the marketplace: clients, providers (with an approval status) and support staff."""

import hashlib

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.db import models
from django.db.models.functions import Lower, Replace
from django.utils.crypto import salted_hmac

from kernel.invisible_text import without_invisible

# Unicode's confusables (UTS #39, confusables.txt) among the characters an ASCII username may hold:
# 0 → O, 1 → l, I → l, m → rn. Applied to the lower-cased name, where I is i.
_USERNAME_LOOKALIKES = (("0", "o"), ("1", "l"), ("i", "l"), ("m", "rn"))


def _username_lookalike_key():
    """The username as it looks: lower-cased, with each confusable replaced by what it is confused with."""
    key = Lower("username")
    for character, lookalike in _USERNAME_LOOKALIKES:
        key = Replace(key, models.Value(character), models.Value(lookalike))
    return key


class User(AbstractUser):
    # ASCII only: a username is what people type to log in and read to know who wrote, so it admits no
    # homoglyphs from other scripts, no invisible or bidi characters and no width variants; names in any
    # script belong in first and last name. Registration applies NFKC first (fullwidth letters become ASCII).
    # django-stubs types AbstractUser's validator as UnicodeUsernameValidator; Django takes any validator here.
    username_validator = ASCIIUsernameValidator()  # type: ignore[assignment]
    username = models.CharField(
        "username",
        max_length=150,
        unique=True,
        help_text="150 characters or fewer: ASCII letters, digits and @/./+/-/_ only.",
        validators=[username_validator],
        error_messages={"unique": "A user with that username already exists."},
    )

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
        max_length=16,
        choices=ProviderStatus.choices,
        blank=True,
        default="",
        help_text="Only providers have one; only approved providers may have proposals accepted.",
    )
    credentials_generation = models.PositiveIntegerField(
        default=0,
        help_text="Raised by a password change or a logout everywhere: tokens, tickets and sessions of an "
        "earlier generation are refused.",
    )
    # When the user was last seen on a socket (presence.services): written when they come online or go
    # offline, at most once a minute, so it is up to a minute behind for a visit shorter than that.
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # No two usernames that differ only in case or in confusable characters (alice, Alice, ALlCE).
            models.UniqueConstraint(
                _username_lookalike_key(),
                name="user_username_lookalike_uniq",
                violation_error_message="This username is taken, or looks like one that is.",
            ),
            models.CheckConstraint(
                name="user_provider_status_only_for_providers",
                condition=(models.Q(role="provider") & ~models.Q(provider_status=""))
                | (models.Q(role="client") & models.Q(provider_status="")),
            ),
        ]

    def clean(self):
        super().clean()
        self.first_name = without_invisible(self.first_name)
        self.last_name = without_invisible(self.last_name)

    @property
    def is_approved_provider(self) -> bool:
        return self.role == self.Role.PROVIDER and self.provider_status == self.ProviderStatus.APPROVED

    @property
    def is_suspended_provider(self) -> bool:
        return self.role == self.Role.PROVIDER and self.provider_status == self.ProviderStatus.SUSPENDED

    def _get_session_auth_hash(self, secret=None):
        """Django's HMAC of the password, with the credentials generation mixed in, so that raising it
        ends every session as a password change does (Django checks this hash on each request and each
        socket's handshake). Generation 0 keeps Django's own hash: sessions from before it stay valid.

        Overridden here because both ``get_session_auth_hash`` and its SECRET_KEY_FALLBACKS twin call it.
        """
        if not self.credentials_generation:
            return super()._get_session_auth_hash(secret=secret)
        key_salt = "accounts.User.get_session_auth_hash"
        value = f"{self.password}:{self.credentials_generation}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()


class WebSocketTicket(models.Model):
    """A single-use, short-lived credential for opening ``/ws/``; only its hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="ws_tickets")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # A ticket stands in for the credential that asked for it: it is refused after a revocation, and its
    # socket closes when that credential expires (the access token's expiry or the session's) or, for a
    # session's, when that session logs out.
    credentials_generation = models.PositiveIntegerField(default=0)
    credential_expires_at = models.DateTimeField(null=True, blank=True)
    session_digest = models.CharField(max_length=64, blank=True, default="")

    def __str__(self):
        # Never the digest: the admin and logs name a ticket by its row and owner only.
        return f"WebSocket ticket {self.pk} of user {self.user_id}"

    @staticmethod
    def digest_of(ticket: str) -> str:
        return hashlib.sha256(ticket.encode()).hexdigest()


def session_digest(session_key: str) -> str:
    """What names a session in pushed events and ticket rows: the key itself is a bearer credential."""
    return hashlib.sha256(session_key.encode()).hexdigest()
