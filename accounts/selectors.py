"""Reads of accounts: the users the HTTP layer and the socket authentication ask for."""

from django.db.models import QuerySet

from accounts.models import User


def provider_list() -> QuerySet[User]:
    """Every provider account, whatever its approval status: what support staff approve or suspend."""
    return User.objects.filter(role=User.Role.PROVIDER)


def user_get_active(*, user_id: int | None) -> User | None:
    """The active user with ``user_id``, or None: a deactivated account authenticates nothing."""
    if user_id is None:
        return None
    return User.objects.filter(pk=user_id, is_active=True).first()
