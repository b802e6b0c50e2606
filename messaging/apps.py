from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MessagingConfig(AppConfig):
    name = "messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from messaging import receivers, socket_handlers  # noqa: F401 - socket_handlers registers them
        from presence.signals import presence_changed

        presence_changed.connect(receivers.presence_changed, dispatch_uid="messaging.presence_changed_tells_peers")
        post_migrate.connect(
            receivers.search_index_ensure, sender=self, dispatch_uid="messaging.search_index_ensure_after_migrate"
        )
