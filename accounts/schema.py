"""drf-spectacular documents simplejwt's own classes by exact class, so ours get the same descriptions."""

from drf_spectacular.contrib.rest_framework_simplejwt import (
    SimpleJWTScheme,
    TokenObtainPairSerializerExtension,
    TokenRefreshSerializerExtension,
)


class JWTScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.JWTAuthentication"


class TokenObtainPairSchema(TokenObtainPairSerializerExtension):
    target_class = "accounts.serializers.TokenObtainPairSerializer"


class TokenRefreshSchema(TokenRefreshSerializerExtension):
    target_class = "accounts.serializers.TokenRefreshSerializer"
