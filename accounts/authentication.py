"""REST authentication by Bearer JWT, refusing tokens revoked by a password change or a logout everywhere."""

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

from accounts import tokens
from accounts.models import User

# Every REST request's first query: written out, because compiling the ORM's primary-key lookup cost more of the
# interpreter than the query itself on the send path (docs/performance.md, "Results, 2026-12-01").
_USER_BY_ID = "SELECT * FROM accounts_user WHERE id = %s"


class JWTAuthentication(authentication.JWTAuthentication):
    def get_user(self, validated_token):
        """simplejwt's answers (``user_not_found``, ``user_inactive``), then the token's credentials generation."""
        try:
            user_id = int(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError) as missing:
            raise InvalidToken(_("Token contained no recognizable user identification")) from missing
        user = next(iter(User.objects.raw(_USER_BY_ID, [user_id])), None)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if not tokens.is_current(validated_token, user):
            raise AuthenticationFailed("This token was revoked: log in again.", code="token_revoked")
        return user
