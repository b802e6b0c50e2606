"""Support staff see meetings, their participants' answers and session times; changes go through the API, whose
services tell the participants' sockets, so nothing here changes or deletes a meeting."""

from datetime import timedelta

from django.contrib import admin

from meetings.models import Meeting, MeetingParticipant


class MeetingParticipantInline(admin.TabularInline):
    model = MeetingParticipant
    extra = 0
    fields = readonly_fields = ("user", "status", "answered_at", "first_joined_at", "last_left_at")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Meeting)
class MeetingAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "project", "host", "status", "scheduled_for", "started_at", "duration"]
    list_filter = ["status", "project"]
    search_fields = ["title", "project__title", "host__username", "channel_name"]
    readonly_fields = [
        "project",
        "host",
        "status",
        "channel_name",
        "scheduled_for",
        "started_at",
        "ended_at",
        "duration",
        "created_at",
    ]
    fields = ["title", "agenda", *readonly_fields]
    inlines = [MeetingParticipantInline]
    list_select_related = ["project", "host"]
    date_hierarchy = "created_at"

    @admin.display(description="Duration", ordering="duration_seconds")
    def duration(self, meeting: Meeting) -> str:
        if meeting.duration_seconds is None:
            return "running" if meeting.status == Meeting.Status.ACTIVE else "-"
        return str(timedelta(seconds=meeting.duration_seconds))

    def has_add_permission(self, request):
        # A meeting is created through the API, which invites the members and rings their sockets.
        return False

    def has_delete_permission(self, request, obj=None):
        # It is cancelled or ended through the API, which tells the participants; a deleted one would ring on.
        return False
