from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import post_save

        # socket_handlers registers the socket effects, schema the OpenAPI descriptions of the JWT classes
        from accounts import receivers, schema, socket_handlers  # noqa: F401
        from accounts.models import User
        from kernel import async_middleware  # noqa: F401 - registers Django's deploy checks on it

        post_save.connect(receivers.user_saved, sender=User, dispatch_uid="accounts.user_saved_disconnects_inactive")
        user_logged_out.connect(receivers.user_logged_out, dispatch_uid="accounts.user_logged_out_closes_sockets")
