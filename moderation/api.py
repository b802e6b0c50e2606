"""REST endpoint of the moderation module: a participant reports a message."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from kernel.errors import Invalid, NotFound
from kernel.schema import errors, path_id
from moderation import services
from moderation.serializers import ReportCreateInputSerializer, ReportSerializer


class MessageReportView(APIView):
    @extend_schema(
        operation_id="messages_report_create",
        request=ReportCreateInputSerializer,
        responses={201: ReportSerializer, 200: ReportSerializer, **errors(Invalid, NotFound)},
        parameters=[path_id("id", "The message's id.")],
        description="A participant of the message's conversation reports it to support staff (201). Reporting it "
        "again answers 200 with the first report, unchanged. One's own messages and system messages cannot be "
        "reported (400); to anyone outside the conversation the message does not exist (404). Support staff's "
        "decision reaches the reporter as `report:resolved` and by email.",
    )
    def post(self, request, pk: int):
        payload = ReportCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        reported = services.report_create(user=request.user, message_id=pk, **payload.validated_data)
        return Response(
            ReportSerializer(reported.report).data,
            status=status.HTTP_201_CREATED if reported.created else status.HTTP_200_OK,
        )
