"""The id rule: an object id is an integer from 1 to 2**63 - 1, the range of a bigint primary key (SQLite cannot
even bind a larger number). One rule for ids in paths (``IdConverter``), in request bodies (``IdField``) and
in socket frames (``require_id``)."""

from django.urls import register_converter
from rest_framework import serializers

from kernel.errors import Invalid

ID_MIN = 1
ID_MAX = 2**63 - 1


def is_id(value: object, *, minimum: int = ID_MIN) -> bool:
    """Whether ``value`` is a JSON integer (not a boolean) in the id range; ``minimum=0`` admits the 0 of a
    cursor that means "from the start"."""
    return isinstance(value, int) and not isinstance(value, bool) and minimum <= value <= ID_MAX


def require_id(data: dict, field: str, *, minimum: int = ID_MIN) -> int:
    """``data[field]`` as an id, or ``Invalid`` naming the field (a socket frame's ``conversationId``...)."""
    value = data.get(field)
    if not isinstance(value, int) or not is_id(value, minimum=minimum):
        raise Invalid(f"{field} must be an integer from {minimum} to {ID_MAX}.", field=field)
    return value


class IdConverter:
    """``<id:pk>`` in a route: anything else matches no route (a 404) instead of reaching a query."""

    regex = "[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > ID_MAX:
            raise ValueError(f"{value} is past the largest id")  # Django: the route does not match
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


class IdField(serializers.IntegerField):
    """An id in a request body."""

    def __init__(self, **kwargs):
        super().__init__(min_value=ID_MIN, max_value=ID_MAX, **kwargs)
