"""The camelCase shapes of meetings, for REST answers and socket payloads alike."""

from rest_framework import serializers

from accounts.serializers import UserBriefSerializer
from meetings.models import Meeting, MeetingParticipant

AGENDA_MAX_LENGTH = 5000
# Ids beyond a signed 64-bit integer can name nothing; refusing them keeps the database from erroring.
ID_MAX = 2**63 - 1


class MeetingParticipantSerializer(serializers.ModelSerializer):
    user = UserBriefSerializer()
    isHost = serializers.BooleanField(source="is_host")
    answeredAt = serializers.DateTimeField(source="answered_at", allow_null=True)
    firstJoinedAt = serializers.DateTimeField(source="first_joined_at", allow_null=True)
    lastLeftAt = serializers.DateTimeField(source="last_left_at", allow_null=True)

    class Meta:
        model = MeetingParticipant
        fields = ["user", "isHost", "status", "answeredAt", "firstJoinedAt", "lastLeftAt"]
        read_only_fields = fields


class MeetingSerializer(serializers.ModelSerializer):
    projectId = serializers.IntegerField(source="project_id")
    projectTitle = serializers.CharField(source="project.title")
    host = UserBriefSerializer()
    scheduledFor = serializers.DateTimeField(source="scheduled_for", allow_null=True)
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    endedAt = serializers.DateTimeField(source="ended_at", allow_null=True)
    durationSeconds = serializers.IntegerField(source="duration_seconds", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    participants = MeetingParticipantSerializer(many=True)

    class Meta:
        model = Meeting
        fields = [
            "id", "projectId", "projectTitle", "title", "agenda", "status", "host", "scheduledFor",
            "startedAt", "endedAt", "durationSeconds", "createdAt", "participants",
        ]
        read_only_fields = fields


class MeetingAnswerSerializer(serializers.ModelSerializer):
    """An invitee's answer, as the ``meeting:accept`` / ``meeting:decline`` events carry it."""

    meetingId = serializers.IntegerField(source="meeting_id")
    user = UserBriefSerializer()
    answeredAt = serializers.DateTimeField(source="answered_at")

    class Meta:
        model = MeetingParticipant
        fields = ["meetingId", "user", "status", "answeredAt"]
        read_only_fields = fields


class MeetingSessionSerializer(serializers.ModelSerializer):
    """A participant's session times, the reply to ``meeting:joined`` / ``meeting:left``."""

    meetingId = serializers.IntegerField(source="meeting_id")
    userId = serializers.IntegerField(source="user_id")
    firstJoinedAt = serializers.DateTimeField(source="first_joined_at", allow_null=True)
    lastLeftAt = serializers.DateTimeField(source="last_left_at", allow_null=True)

    class Meta:
        model = MeetingParticipant
        fields = ["meetingId", "userId", "firstJoinedAt", "lastLeftAt"]
        read_only_fields = fields


class MeetingCreateInputSerializer(serializers.Serializer):
    projectId = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    title = serializers.CharField(max_length=200)
    agenda = serializers.CharField(required=False, allow_blank=True, default="", max_length=AGENDA_MAX_LENGTH)
    scheduledFor = serializers.DateTimeField(required=False, allow_null=True, default=None)
    instant = serializers.BooleanField(required=False, default=False)


class MeetingListFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Meeting.Status.choices, required=False)
    projectId = serializers.IntegerField(min_value=1, max_value=ID_MAX, required=False)


class MeetingTokenSerializer(serializers.Serializer):
    appId = serializers.CharField()
    channelName = serializers.CharField()
    uid = serializers.IntegerField()
    token = serializers.CharField()
    expiresAt = serializers.DateTimeField()
