"""What suspending a provider means: they keep reading their projects (history, files, terms), but
send nothing, hold or answer no meeting and get no Agora token until support staff approve them again.

Every write service and the token issuer ask ``require_not_suspended`` first. Marking messages read
stays open: the marker records what its owner has read, carries nothing they wrote, and a page that
is read marks itself read, so refusing it would break reading without protecting anyone.
"""

from accounts.models import User
from kernel.errors import ProviderSuspended


def require_not_suspended(user: User) -> None:
    """Refuse a suspended provider with 403 ``provider_suspended``.

    ``user`` is as the caller loaded it: per request over REST, and on a socket as its
    ``account:provider_status`` effect keeps it (``accounts.socket_handlers``).
    """
    if user.is_suspended_provider:
        raise ProviderSuspended(
            "Your provider account is suspended: your projects stay readable, but you cannot send, "
            "hold or join meetings until support staff reinstate you."
        )
