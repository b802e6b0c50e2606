"""Operator-facing health: the database answers, how publishing to the channel layer fares, how close
this process is to its bound of sends in flight, and how far behind its sockets' pushes are.
Every figure is this process's, since it started."""

from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from realtime.admission import delivery_lag, send_admission
from realtime.publish import publish_counters


@extend_schema(
    responses=inline_serializer(
        "Health",
        {
            "database": serializers.CharField(),
            "publish": inline_serializer(
                "PublishCounters",
                {
                    "published": serializers.IntegerField(help_text="Group sends handed to the channel layer."),
                    "failed": serializers.IntegerField(help_text="Group sends that raised (e.g. Redis down)."),
                    "dropped": serializers.IntegerField(
                        help_text="Deliveries the channel layer dropped for a full queue (on Redis, one queue "
                        "per receiving process); clients catch up by cursor."
                    ),
                },
            ),
            "sends": inline_serializer(
                "SendAdmission",
                {
                    "inFlight": serializers.IntegerField(help_text="POST /api/messages in flight now."),
                    "limit": serializers.IntegerField(help_text="SEND_MAX_IN_FLIGHT."),
                    "rejected": serializers.IntegerField(help_text="Sends answered 503 for being past the limit."),
                },
            ),
            "delivery": inline_serializer(
                "DeliveryLag",
                {
                    "lagMs": serializers.FloatField(
                        help_text="Age of the latest push this process's sockets received, from its publish "
                        "(0 after a second without one)."
                    ),
                    "limitMs": serializers.IntegerField(help_text="DELIVERY_MAX_LAG_MS."),
                    "rejected": serializers.IntegerField(help_text="Sends answered 503 while pushes lagged past it."),
                },
            ),
        },
    )
)
@api_view(["GET"])
@permission_classes([permissions.AllowAny])
def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return Response(
        {
            "database": "ok",
            "publish": publish_counters.snapshot(),
            "sends": send_admission.snapshot(),
            "delivery": delivery_lag.snapshot(),
        }
    )
