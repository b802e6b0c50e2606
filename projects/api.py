"""REST endpoints of the cross-module flow: requests, proposals, acceptance, projects."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from kernel.errors import Conflict
from kernel.schema import errors
from projects import selectors, services
from projects.serializers import (
    ProjectSerializer,
    ProposalAcceptInputSerializer,
    ProposalInputSerializer,
    ProposalSerializer,
    ServiceRequestInputSerializer,
    ServiceRequestSerializer,
)


class ServiceRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ServiceRequestSerializer

    def get_queryset(self):
        return selectors.service_request_list_visible_to(user=self.request.user)

    @extend_schema(request=ServiceRequestInputSerializer, responses={201: ServiceRequestSerializer})
    def create(self, request):
        payload = ServiceRequestInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        service_request = services.service_request_create(client=request.user, **payload.validated_data)
        return Response(ServiceRequestSerializer(service_request).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProposalInputSerializer, responses={201: ProposalSerializer, **errors(Conflict)})
    @action(detail=True, methods=["post"])
    def proposals(self, request, pk=None):
        service_request = self.get_object()
        payload = ProposalInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        proposal = services.proposal_submit(
            provider=request.user,
            request_id=service_request.pk,
            price=data["price"],
            scope=data["scope"],
            deadline=data["deadline"],
            expires_at=data["expiresAt"],
        )
        return Response(ProposalSerializer(proposal).data, status=status.HTTP_201_CREATED)


class ProposalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ProposalSerializer

    def get_queryset(self):
        return selectors.proposal_list_visible_to(user=self.request.user)

    @extend_schema(request=ProposalAcceptInputSerializer, responses={201: ProjectSerializer, **errors(Conflict)})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        payload = ProposalAcceptInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        project = services.proposal_accept(
            proposal_id=pk, user=request.user, terms_hash=payload.validated_data["termsHash"]
        )
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ProposalSerializer, **errors(Conflict)})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        proposal = services.proposal_reject(proposal_id=pk, user=request.user)
        return Response(ProposalSerializer(proposal).data)


class ProjectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ProjectSerializer

    def get_queryset(self):
        return selectors.project_list_for_user(user=self.request.user)
