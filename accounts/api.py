"""HTTP endpoints for accounts: registration, JWT, logout and password change, the caller, socket tickets,
provider approval."""

from django.contrib.auth import logout, update_session_auth_hash
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.tokens import AccessToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from accounts import selectors, services, tokens
from accounts.models import User
from accounts.serializers import (
    LogoutInputSerializer,
    PasswordChangeInputSerializer,
    RegisterInputSerializer,
    TokenPairSerializer,
    UserSerializer,
    WebSocketTicketSerializer,
)
from kernel.errors import Conflict, Invalid, RateLimited
from kernel.ratelimit import AuthAddressThrottle, ScopedRateThrottle
from kernel.schema import errors


class RegisterView(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_classes = [AuthAddressThrottle]

    @extend_schema(request=RegisterInputSerializer, responses={201: UserSerializer})
    def post(self, request):
        payload = RegisterInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.user_register(**payload.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class TokenView(jwt_views.TokenObtainPairView):
    """simplejwt's token pair: requests limited per address before the body is parsed, password attempts
    limited in ``authenticate`` (accounts.login_guard)."""

    throttle_classes = [AuthAddressThrottle]

    @extend_schema(responses={200: TokenObtainPairSerializer, **errors(RateLimited)})
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class TokenRefreshView(jwt_views.TokenRefreshView):
    """A new access token and a new refresh token; the refresh token presented stops working. Presenting it
    again (or any refresh token revoked by a logout) revokes every token, ticket and session of its user and
    closes their sockets: two holders of one token cannot be told apart. Rate-limited per address: it needs
    no account, so anyone can call it."""

    throttle_classes = [AuthAddressThrottle]


def _by_session(request) -> bool:
    return isinstance(request.successful_authenticator, SessionAuthentication)


class LogoutView(APIView):
    """Ends the caller's session if it is one, revokes the given refresh token, or with ``everywhere``
    every credential of the user; the sockets they opened close with 4401."""

    @extend_schema(request=LogoutInputSerializer, responses={204: None, **errors(Invalid)})
    def post(self, request):
        payload = LogoutInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        refresh = payload.validated_data.get("refresh")
        if payload.validated_data["everywhere"]:
            services.credentials_revoke(user_id=request.user.pk)
        elif refresh is not None:
            services.refresh_token_revoke(user=request.user, raw=refresh)
        elif not _by_session(request):
            raise Invalid("Give the refresh token to revoke, or everywhere: true.", field="refresh")
        if _by_session(request):
            logout(request._request)  # its user_logged_out signal closes this session's sockets
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    """Every token, ticket and session issued before the change stops working and every socket of the user
    closes with 4401; the caller gets a fresh token pair, and keeps its session if it used one."""

    # The current password is checked here, not through authenticate(): its guesses count in the caller's
    # auth budget.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=PasswordChangeInputSerializer, responses={200: TokenPairSerializer, **errors(Invalid)})
    def post(self, request):
        payload = PasswordChangeInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.password_change(
            user_id=request.user.pk,
            current_password=payload.validated_data["currentPassword"],
            new_password=payload.validated_data["newPassword"],
        )
        if _by_session(request):
            update_session_auth_hash(request._request, user)
        return Response(tokens.token_pair_for(user))


class MeView(APIView):
    @extend_schema(responses=UserSerializer)
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class WebSocketTicketView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "ws_ticket"

    @extend_schema(request=None, responses={201: WebSocketTicketSerializer})
    def post(self, request):
        ticket, row = services.ws_ticket_issue(user=request.user, **_issuing_credential(request))
        return Response({"ticket": ticket, "expiresAt": row.expires_at}, status=status.HTTP_201_CREATED)


def _issuing_credential(request) -> dict:
    """What a ticket's socket lives by: the access token's expiry, or the session's (and its logout)."""
    if isinstance(request.auth, AccessToken):
        return {"credential_expires_at": datetime_from_epoch(request.auth["exp"])}
    if _by_session(request):
        return {"credential_expires_at": request.session.get_expiry_date(), "session_key": request.session.session_key}
    return {}


class ProviderViewSet(viewsets.GenericViewSet):
    """Support staff approve or suspend providers."""

    permission_classes = [permissions.IsAdminUser]
    queryset = selectors.provider_list()
    serializer_class = UserSerializer

    @extend_schema(request=None, responses={200: UserSerializer, **errors(Conflict)})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        provider = services.provider_set_status(provider_id=pk, status=User.ProviderStatus.APPROVED)
        return Response(UserSerializer(provider).data)

    @extend_schema(request=None, responses={200: UserSerializer, **errors(Conflict)})
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        provider = services.provider_set_status(provider_id=pk, status=User.ProviderStatus.SUSPENDED)
        return Response(UserSerializer(provider).data)
