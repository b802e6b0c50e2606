from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.http import JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse

from accounts.forms import AdminLoginForm, LoginForm
from kernel.errors import NotFound
from realtime.views import health

API_ROOT_LINKS = ["service-request-list", "proposal-list", "project-list", "conversation-list", "auth-me"]


@extend_schema(responses=inline_serializer("ApiRoot", {name: serializers.URLField() for name in API_ROOT_LINKS}))
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request, format=None):
    """The module's API: projects from accepted proposals, their conversations and meetings."""
    return Response({name: reverse(name, request=request, format=format) for name in API_ROOT_LINKS})


def not_found(request, exception):
    """API clients get a JSON 404 for a path no route matches (as for an id no object has); pages get HTML."""
    if request.path.startswith("/api/"):
        return JsonResponse(NotFound("Not found.").as_payload(), status=NotFound.http_status)
    return page_not_found(request, exception)


handler404 = not_found

# Refused login attempts (accounts.login_guard) appear as an error on each HTML login form.
admin.site.login_form = AdminLoginForm


urlpatterns = [
    # First: Django tries the patterns in order, and every include a path passes through on its way costs a
    # failed match; the hot path (POST /api/messages, messaging.send) resolves at the first one.
    path("api/", include("messaging.urls")),
    path("admin/", admin.site.urls),
    path("api/", api_root, name="api-root"),
    path("api/health", health, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: the Content-Security-Policy allows no inline code.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include("accounts.urls")),
    path("api/", include("projects.urls")),
    path("api/", include("meetings.urls")),
    path("api/", include("integrations.urls")),
    path("api/", include("notifications.urls")),
    path("api/", include("moderation.urls")),
    path("api/", include("evidence.urls")),
    path(
        "api-auth/login/", LoginView.as_view(template_name="rest_framework/login.html", authentication_form=LoginForm)
    ),
    path("api-auth/", include("rest_framework.urls")),
    path("", include("pages.urls")),
    path("", include("notifications.page_urls")),
]
