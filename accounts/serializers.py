from django.conf import settings
from rest_framework import serializers
from rest_framework_simplejwt import serializers as jwt_serializers

from accounts import events, services, tokens
from accounts.models import User
from kernel.schema import BuiltPayload


class RegisterInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    # The column's length: a longer address would fail at the database instead of here.
    email = serializers.EmailField(max_length=User._meta.get_field("email").max_length)
    password = serializers.CharField(
        write_only=True, style={"input_type": "password"}, max_length=settings.PASSWORD_MAX_LENGTH
    )
    role = serializers.ChoiceField(choices=User.Role.choices)


class UserSerializer(serializers.ModelSerializer):
    providerStatus = serializers.CharField(source="provider_status", read_only=True)
    isStaff = serializers.BooleanField(source="is_staff", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email", "role", "providerStatus", "isStaff"]
        read_only_fields = fields


class UserBriefSerializer(BuiltPayload, serializers.ModelSerializer):
    build = staticmethod(events.user_brief_payload)

    class Meta:
        model = User
        fields = ["id", "username", "role"]
        read_only_fields = fields


class WebSocketTicketSerializer(serializers.Serializer):
    ticket = serializers.CharField()
    expiresAt = serializers.DateTimeField()


class TokenObtainPairSerializer(jwt_serializers.TokenObtainPairSerializer):
    @classmethod
    def get_token(cls, user):
        return tokens.refresh_token_for(user)


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """Rotation with reuse detection (``accounts.services.refresh_token_rotate``)."""

    def validate(self, attrs):
        return services.refresh_token_rotate(raw=attrs["refresh"])


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LogoutInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(required=False, help_text="The refresh token to revoke.")
    everywhere = serializers.BooleanField(
        default=False, help_text="Revoke every token, ticket and session of the user and close all their sockets."
    )


class PasswordChangeInputSerializer(serializers.Serializer):
    currentPassword = serializers.CharField(write_only=True, style={"input_type": "password"})
    newPassword = serializers.CharField(write_only=True, style={"input_type": "password"})
