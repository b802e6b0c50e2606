"""The signed, expiring token of an email's unsubscribe link: the user id and the link's purpose, signed with
SECRET_KEY under a salt of its own, so no other signed value of the site passes for one."""

from datetime import timedelta

from django.conf import settings
from django.core import signing

from kernel.errors import UnsubscribeLinkInvalid

_SALT = "notifications.unsubscribe"
_PURPOSE = "email-off"


def unsubscribe_token_make(*, user_id: int) -> str:
    return signing.TimestampSigner(salt=_SALT).sign_object({"u": user_id, "p": _PURPOSE}, compress=False)


def unsubscribe_token_user_id(*, token: str) -> int:
    """The user the token was made for; ``UnsubscribeLinkInvalid`` if it was altered, made for something else
    or is older than UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS."""
    max_age = timedelta(days=settings.UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS)
    try:
        payload = signing.TimestampSigner(salt=_SALT).unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        raise UnsubscribeLinkInvalid(
            "This unsubscribe link has expired; change your email settings after logging in."
        ) from None
    except signing.BadSignature:
        raise UnsubscribeLinkInvalid("This unsubscribe link is not valid.") from None
    if not isinstance(payload, dict) or payload.get("p") != _PURPOSE or not isinstance(payload.get("u"), int):
        raise UnsubscribeLinkInvalid("This unsubscribe link is not valid.")
    return payload["u"]
