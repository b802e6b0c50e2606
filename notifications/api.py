"""REST endpoints of the notifications module: the caller's email preference, and a meeting's calendar file."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from kernel.errors import Invalid, NotFound
from kernel.schema import errors
from meetings import selectors as meeting_selectors
from notifications import selectors, services
from notifications.meeting_calendar import meeting_calendar
from notifications.serializers import PreferenceSerializer


class PreferenceView(APIView):
    @extend_schema(responses=PreferenceSerializer)
    def get(self, request):
        return Response(PreferenceSerializer(selectors.preference_get(user=request.user)).data)

    @extend_schema(request=PreferenceSerializer, responses={200: PreferenceSerializer, **errors(Invalid)})
    def patch(self, request):
        payload = PreferenceSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        preference = services.preference_update(user=request.user, **payload.validated_data)
        return Response(PreferenceSerializer(preference).data)


class CalendarRenderer(BaseRenderer):
    """Lets a client ask for ``text/calendar``; the view writes the file itself."""

    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class MeetingCalendarView(APIView):
    renderer_classes = [CalendarRenderer]

    @extend_schema(
        operation_id="meetings_ics_retrieve",
        responses={(200, "text/calendar"): OpenApiTypes.STR, **errors(NotFound)},
    )
    def get(self, request, pk: int):
        """The meeting's iCalendar file (METHOD REQUEST, or CANCEL once cancelled), for its participants."""
        meeting = meeting_selectors.meeting_get_for_member(user=request.user, meeting_id=pk)
        response = HttpResponse(
            meeting_calendar(meeting, viewer=request.user), content_type="text/calendar; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="meeting-{meeting.pk}.ics"'
        return response

    def handle_exception(self, exc):
        # A refusal is the house's JSON error whatever the client asked for: a calendar cannot say what went wrong.
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().handle_exception(exc)
