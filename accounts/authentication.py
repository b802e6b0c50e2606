"""REST authentication by Bearer JWT, refusing tokens revoked by a password change or a logout everywhere."""

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import authentication

from accounts import tokens


class JWTAuthentication(authentication.JWTAuthentication):
    def get_user(self, validated_token):
        user = super().get_user(validated_token)
        if not tokens.is_current(validated_token, user):
            raise AuthenticationFailed("This token was revoked: log in again.", code="token_revoked")
        return user
