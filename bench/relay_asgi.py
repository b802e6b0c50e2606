"""ASGI entry point of the relay ceiling: ``daphne bench.relay_asgi:application``.

It loads the project's settings only for ``CHANNEL_LAYERS``, so it shares the product's
channels_redis configuration; it opens no database connection.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from bench.relay import RelayMessageConsumer, RelaySocketConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": URLRouter([path("api/messages", RelayMessageConsumer.as_asgi())]),
        "websocket": URLRouter([path("ws/", RelaySocketConsumer.as_asgi())]),
    }
)
