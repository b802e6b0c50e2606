"""REST endpoints of the webhooks: support staff register receivers, change and delete them, and send a test."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from integrations import selectors, services
from integrations.serializers import (
    EndpointCreatedSerializer,
    EndpointCreateInputSerializer,
    EndpointSerializer,
    EndpointUpdateInputSerializer,
    TestDeliverySerializer,
)


class EndpointViewSet(viewsets.GenericViewSet):
    """Webhook endpoints: support staff only (403 for everyone else)."""

    permission_classes = [permissions.IsAdminUser]
    serializer_class = EndpointSerializer

    @extend_schema(request=EndpointCreateInputSerializer, responses={201: EndpointCreatedSerializer})
    def create(self, request):
        payload = EndpointCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        endpoint = services.endpoint_create(**payload.validated_data, by=request.user)
        return Response(EndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=EndpointSerializer(many=True))
    def list(self, request):
        page = self.paginate_queryset(selectors.endpoint_list())
        return self.get_paginated_response(EndpointSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(EndpointSerializer(selectors.endpoint_get(endpoint_id=pk)).data)

    @extend_schema(request=EndpointUpdateInputSerializer, responses=EndpointSerializer)
    def partial_update(self, request, pk=None):
        payload = EndpointUpdateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(endpoint_id=pk, **payload.validated_data)
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.endpoint_delete(endpoint_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: TestDeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = services.endpoint_test(endpoint_id=pk)
        return Response(
            {"eventId": delivery.event.public_id, "deliveryId": delivery.pk}, status=status.HTTP_202_ACCEPTED
        )
