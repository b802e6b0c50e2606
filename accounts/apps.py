from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_save

        from accounts import consumers, receivers  # noqa: F401 - consumers registers the socket effects
        from accounts.models import User

        post_save.connect(receivers.user_saved, sender=User, dispatch_uid="accounts.user_saved_disconnects_inactive")
