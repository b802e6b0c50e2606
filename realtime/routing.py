from django.urls import path

from accounts.socket_auth import SocketAuthMiddlewareStack
from realtime.consumers import RealtimeConsumer
from realtime.socketio.consumers import SocketIOConsumer, engine_query
from realtime.socketio.polling import UpgradeConsumer, socketio_polling

_socketio_session = SocketIOConsumer.as_asgi()
_socketio_upgrade = UpgradeConsumer.as_asgi()


async def socketio_websocket(scope, receive, send):
    """A WebSocket on ``/socket.io/``: a session of its own, or (with a ``sid``) a polling session's upgrade."""
    upgrade = "sid" in (engine_query(scope) or {})
    return await (_socketio_upgrade if upgrade else _socketio_session)(scope, receive, send)


websocket_urlpatterns = [
    path("ws/", RealtimeConsumer.as_asgi()),
    path("socket.io/", socketio_websocket),
]
# Socket.IO's long-polling requests, ahead of Django, authenticated as the sockets are (config.asgi).
http_urlpatterns = [path("socket.io/", SocketAuthMiddlewareStack(socketio_polling))]
