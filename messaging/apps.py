from django.apps import AppConfig
from django.db.models.signals import post_migrate


class MessagingConfig(AppConfig):
    name = "messaging"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from messaging import receivers, socket_handlers  # noqa: F401 - registers them

        post_migrate.connect(receivers.search_index_ensure, sender=self, dispatch_uid="messaging_search_index_ensure")
