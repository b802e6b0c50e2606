"""REST endpoints of the meetings module, as the spec names them (plus cancel)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from kernel.errors import Conflict, NotAllowed, NotFound, ProviderSuspended, Unavailable
from kernel.ratelimit import ScopedRateThrottle
from kernel.schema import errors
from meetings import selectors, services
from meetings.serializers import (
    MeetingCreateInputSerializer,
    MeetingListFilterSerializer,
    MeetingRescheduleInputSerializer,
    MeetingSerializer,
    MeetingTokenSerializer,
)


class MeetingViewSet(viewsets.GenericViewSet):
    serializer_class = MeetingSerializer
    throttle_scope = "meeting_start"

    def get_throttles(self):
        # Creating a meeting invites (an instant one rings) and starting one rings the other side: per user rate.
        return [ScopedRateThrottle()] if self.action in ("create", "start") else []

    @extend_schema(
        request=MeetingCreateInputSerializer,
        responses={201: MeetingSerializer, **errors(NotFound, ProviderSuspended, Conflict)},
    )
    def create(self, request):
        payload = MeetingCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        meeting = services.meeting_create(
            user=request.user,
            project_id=data["projectId"],
            title=data["title"],
            agenda=data["agenda"],
            scheduled_for=data["scheduledFor"],
            instant=data["instant"],
        )
        return Response(MeetingSerializer(meeting).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[MeetingListFilterSerializer], responses=MeetingSerializer(many=True))
    @action(detail=False)
    def me(self, request):
        filters = MeetingListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        meetings = selectors.meeting_list_for_user(
            user=request.user,
            status=filters.validated_data.get("status"),
            project_id=filters.validated_data.get("projectId"),
        )
        page = self.paginate_queryset(meetings)
        return self.get_paginated_response(MeetingSerializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        meeting = selectors.meeting_get_for_member(user=request.user, meeting_id=pk)
        return Response(MeetingSerializer(meeting).data)

    @extend_schema(request=None, responses={200: MeetingSerializer, **errors(ProviderSuspended, Conflict)})
    @action(detail=True, methods=["patch"])
    def start(self, request, pk=None):
        return Response(MeetingSerializer(services.meeting_start(user=request.user, meeting_id=pk)).data)

    @extend_schema(request=None, responses={200: MeetingSerializer, **errors(ProviderSuspended, Conflict)})
    @action(detail=True, methods=["patch"])
    def end(self, request, pk=None):
        return Response(MeetingSerializer(services.meeting_end(user=request.user, meeting_id=pk)).data)

    @extend_schema(request=None, responses={200: MeetingSerializer, **errors(ProviderSuspended, Conflict)})
    @action(detail=True, methods=["patch"])
    def cancel(self, request, pk=None):
        return Response(MeetingSerializer(services.meeting_cancel(user=request.user, meeting_id=pk)).data)

    @extend_schema(
        request=MeetingRescheduleInputSerializer,
        responses={200: MeetingSerializer, **errors(ProviderSuspended, Conflict)},
    )
    @action(detail=True, methods=["patch"])
    def reschedule(self, request, pk=None):
        payload = MeetingRescheduleInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        meeting = services.meeting_reschedule(
            user=request.user, meeting_id=pk, scheduled_for=payload.validated_data["scheduledFor"]
        )
        return Response(MeetingSerializer(meeting).data)

    @extend_schema(request=None, responses={200: MeetingSerializer, **errors(ProviderSuspended, Conflict)})
    @action(detail=True, methods=["patch"])
    def accept(self, request, pk=None):
        services.meeting_accept(user=request.user, meeting_id=pk)
        return self.retrieve(request, pk)

    @extend_schema(request=None, responses={200: MeetingSerializer, **errors(ProviderSuspended, Conflict)})
    @action(detail=True, methods=["patch"])
    def decline(self, request, pk=None):
        services.meeting_decline(user=request.user, meeting_id=pk)
        return self.retrieve(request, pk)

    @extend_schema(responses={200: MeetingTokenSerializer, **errors(NotAllowed, Conflict, Unavailable)})
    @action(detail=True)
    def token(self, request, pk=None):
        token = services.meeting_token_issue(user=request.user, meeting_id=pk)
        return Response(MeetingTokenSerializer(token).data)
