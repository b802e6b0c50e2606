from django.apps import AppConfig


class PresenceConfig(AppConfig):
    name = "presence"

    def ready(self):
        from presence import receivers
        from realtime.signals import socket_closed, socket_opened

        socket_opened.connect(receivers.socket_opened, dispatch_uid="presence.socket_opened_counts_socket")
        socket_closed.connect(receivers.socket_closed, dispatch_uid="presence.socket_closed_uncounts_socket")
