"""Support staff read conversations, their participants and messages; nothing here writes."""

from django.contrib import admin

from messaging.models import Conversation, Message, Participant


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    fields = ["user", "last_read_seq", "last_read_message", "last_read_at", "joined_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ["seq", "sender", "type", "content", "file_name", "created_at"]
    readonly_fields = fields
    can_delete = False
    ordering = ["-id"]
    max_num = 0
    show_change_link = True


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "project_status", "last_message_seq", "last_activity_at", "created_at"]
    list_filter = ["project__status"]
    search_fields = [
        "project__title", "participants__user__username", "messages__content", "messages__sender__username",
    ]
    readonly_fields = ["project", "last_message", "last_message_seq", "last_activity_at", "created_at"]
    inlines = [ParticipantInline, MessageInline]
    list_select_related = ["project"]

    @admin.display(description="Project status", ordering="project__status")
    def project_status(self, conversation):
        return conversation.project.status

    def has_add_permission(self, request):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "conversation", "seq", "sender", "type", "short_content", "created_at"]
    list_filter = ["type", "conversation__project__status"]
    search_fields = ["content", "sender__username", "file_name"]
    readonly_fields = [
        "conversation", "sender", "seq", "type", "content", "file", "file_name",
        "file_size", "file_content_type", "client_message_id", "created_at",
    ]
    list_select_related = ["sender", "conversation"]

    @admin.display(description="Content")
    def short_content(self, message):
        return message.content[:80]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
