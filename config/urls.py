from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse

from realtime.views import health


@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request, format=None):
    """The module's API: projects from accepted proposals, their conversations and meetings."""
    names = ["service-request-list", "proposal-list", "project-list", "conversation-list", "auth-me"]
    return Response({name: reverse(name, request=request, format=format) for name in names})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api_root, name="api-root"),
    path("api/health", health, name="health"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include("accounts.urls")),
    path("api/", include("projects.urls")),
    path("api/", include("messaging.urls")),
    path("api/", include("meetings.urls")),
    path("api-auth/", include("rest_framework.urls")),
    path("", include("pages.urls")),
]
