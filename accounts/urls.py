from django.urls import path

from accounts import api
from kernel.routers import ApiRouter

router = ApiRouter()
router.register("providers", api.ProviderViewSet, basename="provider")

urlpatterns = [
    path("auth/register", api.RegisterView.as_view(), name="auth-register"),
    path("auth/token", api.TokenView.as_view(), name="auth-token"),
    path("auth/token/refresh", api.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout", api.LogoutView.as_view(), name="auth-logout"),
    path("auth/password", api.PasswordChangeView.as_view(), name="auth-password"),
    path("auth/me", api.MeView.as_view(), name="auth-me"),
    path("auth/ws-ticket", api.WebSocketTicketView.as_view(), name="auth-ws-ticket"),
    *router.urls,
]
