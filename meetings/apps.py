from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "meetings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from meetings import socket_handlers  # noqa: F401 - registers them
