"""Reads of the integrations module."""

from django.db.models import QuerySet

from integrations.models import Endpoint
from kernel.errors import NotFound


def endpoint_list() -> QuerySet[Endpoint]:
    return Endpoint.objects.order_by("id")


def endpoint_get(*, endpoint_id: int) -> Endpoint:
    endpoint = Endpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("No such endpoint.")
    return endpoint
