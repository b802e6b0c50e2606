"""The API's router: object ids in paths are typed, so the schema says ``integer`` and a non-numeric or
overlong id matches no route (a 404) instead of reaching a query."""

from django.urls import register_converter
from rest_framework.routers import SimpleRouter


class IdConverter:
    # 18 digits stay below 2**63 - 1, the largest id a bigint column holds.
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


class ApiRouter(SimpleRouter):
    """Routes without trailing slashes whose lookups are ``<id:pk>`` unless a viewset names its converter."""

    def __init__(self):
        super().__init__(trailing_slash=False, use_regex_path=False)
        self._default_value_pattern = "id"
