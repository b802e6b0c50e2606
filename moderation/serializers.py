"""The camelCase shapes of a report: what a participant sends, and the report as ``moderation.events`` writes it."""

from rest_framework import serializers

from kernel.schema import BuiltPayload
from moderation import events
from moderation.models import REPORT_DETAILS_MAX_LENGTH, Report


class ReportCreateInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Report.Reason.choices)
    details = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=REPORT_DETAILS_MAX_LENGTH,
        trim_whitespace=True,
        help_text="What support staff should know, in the reporter's words.",
    )


class ReportSerializer(BuiltPayload, serializers.ModelSerializer):
    build = staticmethod(events.report_payload)

    messageId = serializers.IntegerField(source="message_id")
    conversationId = serializers.IntegerField(source="message.conversation_id")
    status = serializers.ChoiceField(
        choices=Report.Status.choices, help_text="open until support staff resolve or dismiss it."
    )
    resolutionNote = serializers.CharField(
        source="resolution_note", help_text="Support staff's note to the reporter; empty while open."
    )
    createdAt = serializers.DateTimeField(source="created_at")
    resolvedAt = serializers.DateTimeField(source="resolved_at", allow_null=True)

    class Meta:
        model = Report
        fields = [
            "id",
            "messageId",
            "conversationId",
            "reason",
            "details",
            "status",
            "resolutionNote",
            "createdAt",
            "resolvedAt",
        ]
