"""The camelCase shapes of the webhook endpoints API. An endpoint is written by ``events.endpoint_payload``;
these fields document it."""

from rest_framework import serializers

from integrations import events
from integrations.models import Endpoint
from kernel.schema import BuiltPayload

EVENT_TYPE_CHOICES = list(events.SUBSCRIBABLE)


class EndpointSerializer(BuiltPayload, serializers.ModelSerializer):
    build = staticmethod(events.endpoint_payload)

    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPE_CHOICES))
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Endpoint
        fields = ["id", "url", "events", "description", "active", "createdAt"]
        read_only_fields = fields


class EndpointCreatedSerializer(EndpointSerializer):
    """The answer to its creation, the one time the secret is shown."""

    secret = serializers.CharField(help_text="whsec_ and the base64 signing key: shown only in this answer.")

    @staticmethod
    def build(endpoint) -> dict:
        return {**events.endpoint_payload(endpoint), "secret": endpoint.secret}

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


# The event types are checked by the service (400 on ``events`` naming the known ones); the choices here document them.
class EndpointCreateInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(child=serializers.CharField(max_length=64), allow_empty=False, max_length=50)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class EndpointUpdateInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000, required=False)
    events = serializers.ListField(
        child=serializers.CharField(max_length=64), allow_empty=False, max_length=50, required=False
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=500)
    active = serializers.BooleanField(required=False)


class TestDeliverySerializer(serializers.Serializer):
    eventId = serializers.CharField(help_text="The webhook-id the test delivery carries.")
    deliveryId = serializers.IntegerField()
