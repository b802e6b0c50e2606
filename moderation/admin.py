"""Support staff's review queue of reported messages: open reports first, filtered by status and reason,
with the reported text and links to the message and its conversation. The one write is the decision, made
with the changelist's actions and the note typed beside them, through ``services.report_resolve``."""

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ActionForm
from django.db.models import Case, IntegerField, Value, When
from django.urls import reverse
from django.utils.html import format_html

from kernel.admin_actions import apply_service
from moderation import services
from moderation.models import RESOLUTION_NOTE_MAX_LENGTH, Report


class ResolutionActionForm(ActionForm):
    """The changelist's action bar, with the note the reporter is sent beside the action chosen."""

    resolution_note = forms.CharField(
        required=False,
        max_length=RESOLUTION_NOTE_MAX_LENGTH,
        label="Note to the reporter",
        widget=forms.TextInput(attrs={"size": 60}),
    )


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "status",
        "reason",
        "reporter",
        "reported_sender",
        "reported_text",
        "message_link",
        "conversation_link",
        "created_at",
        "resolved_at",
    ]
    list_filter = ["status", "reason"]
    search_fields = [
        "message_content",
        "message__content",
        "details",
        "resolution_note",
        "reporter__username",
        "message__sender__username",
    ]
    list_select_related = ["reporter", "message__sender"]
    readonly_fields = [
        "status",
        "reason",
        "details",
        "reporter",
        "reported_sender",
        "message_content",
        "current_text",
        "message_link",
        "conversation_link",
        "created_at",
        "resolution_note",
        "resolved_by",
        "resolved_at",
    ]
    fields = list(readonly_fields)
    action_form = ResolutionActionForm
    actions = ["resolve", "dismiss"]

    # The queue: open reports first, the oldest of them on top; the decided ones after them.
    ordering = [
        Case(When(status=Report.Status.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()),
        "created_at",
    ]

    @admin.display(description="Sender", ordering="message__sender__username")
    def reported_sender(self, report: Report) -> str:
        return str(report.message.sender)

    @admin.display(description="Reported text")
    def reported_text(self, report: Report) -> str:
        return report.message_content[:120]

    @admin.display(description="The message now")
    def current_text(self, report: Report) -> str:
        message = report.message
        if message.deleted_at is not None:
            return "(deleted by its sender: its earlier versions are on the message's page)"
        return message.content or message.file_name

    @admin.display(description="Message")
    def message_link(self, report: Report) -> str:
        url = reverse("admin:messaging_message_change", args=[report.message_id])
        return format_html('<a href="{}">#{}</a>', url, report.message_id)

    @admin.display(description="Conversation")
    def conversation_link(self, report: Report) -> str:
        conversation_id = report.message.conversation_id
        url = reverse("admin:messaging_conversation_change", args=[conversation_id])
        return format_html('<a href="{}">#{}</a>', url, conversation_id)

    @admin.action(description="Resolve the selected reports (action taken), with the note", permissions=["change"])
    def resolve(self, request, queryset):
        self._decide(request, queryset, Report.Status.RESOLVED, done="Resolved")

    @admin.action(description="Dismiss the selected reports (no action needed), with the note", permissions=["change"])
    def dismiss(self, request, queryset):
        self._decide(request, queryset, Report.Status.DISMISSED, done="Dismissed")

    def _decide(self, request, queryset, status: str, *, done: str) -> None:
        note = request.POST.get("resolution_note", "")
        apply_service(
            self,
            request,
            queryset,
            lambda report: services.report_resolve(report_id=report.pk, by=request.user, status=status, note=note),
            done=done,
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
