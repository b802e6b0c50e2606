"""REST endpoints of the cross-module flow: requests, proposals, acceptance, projects."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from kernel.errors import Conflict, Invalid, NotAllowed, NotFound
from kernel.schema import errors, path_id
from projects import selectors, services
from projects.serializers import (
    ProjectMemberInputSerializer,
    ProjectMemberSerializer,
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

    @extend_schema(
        methods=["GET"],
        request=None,
        responses={200: ProjectMemberSerializer(many=True), **errors(NotFound)},
        description="The project's members on both sides, each side's owner first; not paginated.",
    )
    @extend_schema(
        methods=["POST"],
        request=ProjectMemberInputSerializer,
        responses={201: ProjectMemberSerializer, **errors(Invalid, NotAllowed, NotFound, Conflict)},
        description="An owner adds an existing user to their own side: a client to the client's, an approved "
        "provider to the provider's. The member joins the conversation with its whole history (`conversation:new`) "
        "and is invited to its pending and running meetings and every later one.",
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def members(self, request, pk=None):
        if request.method == "POST":
            payload = ProjectMemberInputSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            member = services.project_member_add(
                project_id=pk, user_id=payload.validated_data["userId"], by=request.user
            )
            return Response(ProjectMemberSerializer(member).data, status=status.HTTP_201_CREATED)
        project = selectors.project_get_for_member(user=request.user, project_id=pk)
        return Response(ProjectMemberSerializer(selectors.project_member_list(project=project), many=True).data)

    @extend_schema(
        request=None,
        responses={204: None, **errors(NotAllowed, NotFound, Conflict)},
        parameters=[path_id("user_id", "The member's user id.")],
        description="An owner removes a member of their own side: their sockets leave the conversation, and the "
        "project, its conversation and its meetings answer them 404 from then on.",
    )
    @action(detail=True, methods=["delete"], url_path="members/<id:user_id>", url_name="member")
    def member_remove(self, request, pk=None, user_id=None):
        services.project_member_remove(project_id=pk, user_id=user_id, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
