"""Signal handlers: each a one-line call into a service."""

from accounts import services


def user_saved(sender, instance, created, raw=False, **kwargs):
    if not raw:  # fixtures load rows as they were; no socket is open for them
        services.user_disconnect_if_inactive(user=instance)


def user_logged_out(sender, request, user, **kwargs):
    services.session_end(user=user, session_key=request.session.session_key)
