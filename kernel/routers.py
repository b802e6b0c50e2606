"""The API's router: object ids in paths are typed (``kernel.ids.IdConverter``), so the schema says ``integer``
and a non-numeric or overlong id matches no route (a 404) instead of reaching a query."""

from rest_framework.routers import SimpleRouter

import kernel.ids  # noqa: F401  # registers the ``id`` path converter the routes below use


class ApiRouter(SimpleRouter):
    """Routes without trailing slashes whose lookups are ``<id:pk>`` unless a viewset names its converter."""

    def __init__(self):
        super().__init__(trailing_slash=False, use_regex_path=False)
        self._default_value_pattern = "id"
