"""The camelCase shapes of the meetings API. A meeting (what its socket events carry too) is written by the
builders in ``meetings.events``; these fields document it."""

from rest_framework import serializers

from accounts.serializers import UserBriefSerializer
from kernel.ids import IdField
from kernel.schema import BuiltPayload
from meetings import events
from meetings.models import Meeting, MeetingParticipant

AGENDA_MAX_LENGTH = 5000


class MeetingStatusField(serializers.ChoiceField):
    """A meeting's status as the spec spells it on the wire (``PENDING``...; ``meetings.events`` converts)."""

    def __init__(self, **kwargs):
        super().__init__(choices=events.MEETING_STATUS_CHOICES_ON_WIRE, **kwargs)

    def to_internal_value(self, data) -> str:
        return events.meeting_status_from_wire(super().to_internal_value(data))

    def to_representation(self, value) -> str:
        return events.meeting_status_to_wire(value)


class MeetingParticipantSerializer(BuiltPayload, serializers.ModelSerializer):
    build = staticmethod(events.participant_payload)

    user = UserBriefSerializer()
    isHost = serializers.BooleanField(source="is_host")
    answeredAt = serializers.DateTimeField(source="answered_at", allow_null=True)
    firstJoinedAt = serializers.DateTimeField(source="first_joined_at", allow_null=True)
    lastLeftAt = serializers.DateTimeField(source="last_left_at", allow_null=True)

    class Meta:
        model = MeetingParticipant
        fields = ["user", "isHost", "status", "answeredAt", "firstJoinedAt", "lastLeftAt"]
        read_only_fields = fields


class MeetingSerializer(BuiltPayload, serializers.ModelSerializer):
    build = staticmethod(events.meeting_payload)

    projectId = serializers.IntegerField(source="project_id")
    projectTitle = serializers.CharField(source="project.title")
    host = UserBriefSerializer()
    scheduledFor = serializers.DateTimeField(source="scheduled_for", allow_null=True)
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)
    durationSeconds = serializers.IntegerField(source="duration_seconds", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    participants = MeetingParticipantSerializer(many=True)
    status = MeetingStatusField(read_only=True)

    class Meta:
        model = Meeting
        fields = [
            "id",
            "projectId",
            "projectTitle",
            "title",
            "agenda",
            "status",
            "host",
            "scheduledFor",
            "startedAt",
            "endedAt",
            "durationSeconds",
            "createdAt",
            "participants",
        ]
        read_only_fields = fields


class MeetingCreateInputSerializer(serializers.Serializer):
    projectId = IdField()
    title = serializers.CharField(max_length=200)
    agenda = serializers.CharField(required=False, allow_blank=True, default="", max_length=AGENDA_MAX_LENGTH)
    scheduledFor = serializers.DateTimeField(required=False, allow_null=True, default=None)
    instant = serializers.BooleanField(required=False, default=False)


class MeetingRescheduleInputSerializer(serializers.Serializer):
    scheduledFor = serializers.DateTimeField()


class MeetingListFilterSerializer(serializers.Serializer):
    status = MeetingStatusField(required=False)
    projectId = IdField(required=False)


# services.MeetingToken, as the call screen reads it.
class MeetingTokenSerializer(serializers.Serializer):
    appId = serializers.CharField(source="app_id")
    channelName = serializers.CharField(source="channel_name")
    uid = serializers.IntegerField()
    token = serializers.CharField()
    expiresAt = serializers.DateTimeField(source="expires_at")
