"""ASGI entry point: HTTP to Django through body limits, ``/ws/`` and ``/socket.io/`` through origin checks and
authentication. Django's handler reuses its request threads (``kernel.asgi_handler``)."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

# What django.core.asgi.get_asgi_application does, with the handler that does not start a thread per request.
django.setup(set_prefix=False)

from kernel.asgi_handler import ReusedThreadASGIHandler  # noqa: E402

django_http = ReusedThreadASGIHandler()

from config.daphne_requests import adapt_daphne_requests  # noqa: E402

adapt_daphne_requests()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402
from django.urls import re_path  # noqa: E402

from accounts.socket_auth import SocketAuthMiddlewareStack, SocketOriginValidator  # noqa: E402
from config.body_limits import BodyLimitMiddleware  # noqa: E402
from realtime.routing import http_urlpatterns, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Socket.IO's long-polling requests first: they hold their bodies to maxPayload themselves.
        # The body limits are outermost for Django, so that a body over its limit is refused before
        # Django's handler reads it to a file.
        "http": URLRouter(
            [
                *http_urlpatterns,
                re_path(r"", BodyLimitMiddleware(ASGIStaticFilesHandler(django_http))),
            ]
        ),
        "websocket": SocketOriginValidator(SocketAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# What is loaded by now (Django, DRF, the apps, their URLs) lives as long as the process: frozen out of the
# cycle collector's reach. Under load a full collection came every few seconds and, scanning all of it, held
# the event loop for 50-90 ms, every socket's pushes and every send waiting behind it (docs/performance.md).
gc.collect()
gc.freeze()
