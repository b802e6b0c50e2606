from django.urls import path

from realtime.consumers import RealtimeConsumer
from realtime.socketio.consumers import SocketIOConsumer

websocket_urlpatterns = [
    path("ws/", RealtimeConsumer.as_asgi()),
    path("socket.io/", SocketIOConsumer.as_asgi()),
]
