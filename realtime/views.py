"""Operator-facing health: the database answers, and how publishing to the channel layer fares."""

from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from realtime.publish import publish_counters


@extend_schema(
    responses=inline_serializer(
        "Health",
        {
            "database": serializers.CharField(),
            "publish": inline_serializer(
                "PublishCounters", {"published": serializers.IntegerField(), "failed": serializers.IntegerField()}
            ),
        },
    )
)
@api_view(["GET"])
@permission_classes([permissions.AllowAny])
def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return Response({"database": "ok", "publish": publish_counters.snapshot()})
