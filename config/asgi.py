"""ASGI entry point: HTTP to Django, ``/ws/`` and ``/socket.io/`` through origin checks and authentication."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

from config.daphne_requests import leave_form_bodies_to_django  # noqa: E402

django_http = get_asgi_application()
leave_form_bodies_to_django()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.urls import re_path  # noqa: E402

from accounts.socket_auth import SocketAuthMiddlewareStack  # noqa: E402
from realtime.routing import http_urlpatterns, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": URLRouter([*http_urlpatterns, re_path(r"", ASGIStaticFilesHandler(django_http))]),
        "websocket": AllowedHostsOriginValidator(SocketAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
