from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from messaging import receivers, socket_handlers  # noqa: F401 - socket_handlers registers them
        from presence.signals import presence_changed

        presence_changed.connect(receivers.presence_changed, dispatch_uid="messaging.presence_changed_tells_peers")
