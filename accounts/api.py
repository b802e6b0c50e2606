"""HTTP endpoints for accounts: registration, JWT, the caller, socket tickets, provider approval."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views

from accounts import services
from accounts.models import User
from accounts.serializers import RegisterInputSerializer, UserSerializer, WebSocketTicketSerializer
from config.errors import Conflict
from config.ratelimit import AuthAddressThrottle, LoginAttemptThrottle
from config.schema import errors


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
    """simplejwt's token pair, with requests rate-limited per address and password attempts per account name."""

    # The address is counted first, from the connection; the account name needs the (small) body parsed.
    throttle_classes = [AuthAddressThrottle, LoginAttemptThrottle]
    throttle_scope = "login"


class TokenRefreshView(jwt_views.TokenRefreshView):
    """simplejwt's refresh, rate-limited per address: it needs no account, so anyone can call it."""

    throttle_classes = [AuthAddressThrottle]


class MeView(APIView):
    @extend_schema(responses=UserSerializer)
    def get(self, request):
        return Response(UserSerializer(request.user).data)


class WebSocketTicketView(APIView):
    @extend_schema(request=None, responses={201: WebSocketTicketSerializer})
    def post(self, request):
        ticket, row = services.ws_ticket_issue(user=request.user)
        return Response({"ticket": ticket, "expiresAt": row.expires_at}, status=status.HTTP_201_CREATED)


class ProviderViewSet(viewsets.GenericViewSet):
    """Support staff approve or suspend providers."""

    permission_classes = [permissions.IsAdminUser]
    queryset = User.objects.filter(role=User.Role.PROVIDER)
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
