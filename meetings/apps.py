from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "meetings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from meetings import receivers, socket_handlers  # noqa: F401 - registers them
        from projects.signals import member_added

        member_added.connect(receivers.member_added, dispatch_uid="meetings.member_added_is_invited")
