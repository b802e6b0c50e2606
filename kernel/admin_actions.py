"""Admin actions that change state: each selected row goes through its service, as the API's requests do."""

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from kernel.errors import DomainError


def apply_service(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    change: Callable[[Model], object],
    *,
    done: str,
) -> None:
    """Call ``change(row)``, one service call in its own transaction, for each selected row.

    A refusal is shown to staff in the service's own words, with the row it concerns, and the other rows go
    on; each change is written to the admin's history, and one message counts them.
    """
    changed = 0
    for row in queryset:
        try:
            change(row)
        except DomainError as exc:
            modeladmin.message_user(request, f"{row}: {exc.detail}", level=messages.ERROR)
        else:
            changed += 1
            modeladmin.log_change(request, row, done)
    if changed:
        modeladmin.message_user(request, f"{done}: {changed}.", level=messages.SUCCESS)
