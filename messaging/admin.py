"""Support staff read conversations, their participants and messages (with every earlier version of an edited
or deleted message, which participants never see); the one write is removing a
participant, which goes through ``services.participant_remove`` so that their sockets are told.
A conversation turns read-only when its project is closed (the project's admin actions). Its page and an
action verify its record's hash chain (``selectors.conversation_chain_verify``, docs/record.md).

Messages the off-platform contact filter reviewed (docs/moderation.md) are found with the "review" filter, their
contacts highlighted; approving or rejecting them goes through ``services.message_review_decide``, which tells
the conversation."""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from kernel.contact_filter import contact_matches
from messaging import selectors, services
from messaging.models import Conversation, Message, MessageRevision, Participant


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    fields = readonly_fields = ("user", "last_read_seq", "last_read_message", "last_read_at", "joined_at")
    # Removal is on the participant's own page, where it goes through the service.
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class SenderOrSystem:
    """A message's sender column: a system message is the server's."""

    @admin.display(description="Sender", ordering="sender__username")
    def sender_or_system(self, message: Message) -> str:
        return "system" if message.sender is None else str(message.sender)


class MessageInline(SenderOrSystem, admin.TabularInline):
    model = Message
    extra = 0
    fields = readonly_fields = ("seq", "sender_or_system", "type", "content", "file_name", "created_at")
    can_delete = False
    ordering = ["-id"]
    max_num = 0
    show_change_link = True


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "project_status", "last_message_seq", "last_activity_at", "created_at"]
    list_filter = ["project__status"]
    search_fields = [
        "project__title",
        "participants__user__username",
        "messages__content",
        "messages__sender__username",
    ]
    readonly_fields = [
        "project",
        "last_message",
        "last_message_seq",
        "last_activity_at",
        "created_at",
        "chain_head",
        "record_verification",
    ]
    inlines = [ParticipantInline, MessageInline]
    list_select_related = ["project"]
    actions = ["verify_records"]

    @admin.display(description="Record (hash chain)")
    def record_verification(self, conversation) -> str:
        broken = selectors.conversation_chain_verify(conversation_id=conversation.pk)
        return "Verifies" if broken is None else f"Broken: {broken}"

    @admin.action(description="Verify the record of selected conversations", permissions=["view"])
    def verify_records(self, request, queryset):
        for conversation in queryset:
            broken = selectors.conversation_chain_verify(conversation_id=conversation.pk)
            if broken is None:
                self.message_user(request, f"Conversation {conversation.pk}: its record verifies.", messages.SUCCESS)
            else:
                self.message_user(
                    request, f"Conversation {conversation.pk}: first broken link {broken}.", messages.ERROR
                )

    @admin.display(description="Project status", ordering="project__status")
    def project_status(self, conversation):
        return conversation.project.status

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # A project keeps its conversation: closing the project makes it read-only, and a participant is
        # removed on their own page, through the service that tells their sockets.
        return False


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    """Deleting a participant here (their page, or the list's bulk action) removes them through the service."""

    list_display = ["id", "user", "conversation", "last_read_seq", "joined_at"]
    search_fields = ["user__username", "conversation__project__title"]
    list_select_related = ["user", "conversation__project"]
    readonly_fields = ["conversation", "user", "last_read_seq", "last_read_message", "last_read_at", "joined_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.participant_remove(conversation_id=obj.conversation_id, user_id=obj.user_id, by=request.user)

    def delete_queryset(self, request, queryset):
        for participant in queryset:
            self.delete_model(request, participant)


class MessageRevisionInline(admin.TabularInline):
    """The versions the sender's edits and delete replaced, oldest first: read-only history for support."""

    model = MessageRevision
    extra = 0
    fields = readonly_fields = ("change", "content", "file", "file_name", "replaced_at", "replaced_by", "chain_hash")
    can_delete = False
    max_num = 0


@admin.register(Message)
class MessageAdmin(SenderOrSystem, admin.ModelAdmin):
    list_display = [
        "id",
        "conversation",
        "seq",
        "sender_or_system",
        "type",
        "short_content",
        "review",
        "contact_kinds",
        "created_at",
        "edited_at",
        "deleted_at",
    ]
    list_filter = ["review", "type", "conversation__project__status"]
    search_fields = ["content", "sender__username", "file_name"]
    readonly_fields = [
        "conversation",
        "sender_or_system",
        "seq",
        "type",
        "review",
        "contact_kinds",
        "contact_highlighted",
        "content",
        "system",
        "file",
        "file_name",
        "file_size",
        "file_content_type",
        "client_message_id",
        "created_at",
        "edited_at",
        "deleted_at",
        "chain_hash",
    ]
    list_select_related = ["sender", "conversation"]
    inlines = [MessageRevisionInline]
    actions = ["review_approve", "review_reject"]

    @admin.display(description="Content")
    def short_content(self, message):
        return message.content[:80]

    @admin.display(description="Contacts found")
    def contact_highlighted(self, message):
        """The content and file name with what the contact filter matches in ``<mark>``, the rest escaped."""
        return format_html_join(
            mark_safe("<br>"), "{}", ((_highlighted(text),) for text in (message.content, message.file_name) if text)
        )

    def has_review_permission(self, request):
        # Whoever may read messages here may decide on the contact filter's: a read-only admin otherwise.
        return self.has_view_permission(request)

    @admin.action(
        description="Approve: clear the flag or mask, release if held (recipients see them as sent)",
        permissions=["review"],
    )
    def review_approve(self, request, queryset):
        self._review_decide(request, queryset, approve=True)

    @admin.action(description="Reject: recipients keep a placeholder for the selected messages", permissions=["review"])
    def review_reject(self, request, queryset):
        self._review_decide(request, queryset, approve=False)

    def _review_decide(self, request, queryset, *, approve: bool) -> None:
        decided = sum(
            services.message_review_decide(message_id=message_id, approve=approve, by=request.user)
            for message_id in queryset.values_list("pk", flat=True)
        )
        verb = "Approved" if approve else "Rejected"
        self.message_user(
            request, f"{verb}: {decided} (the others already were, or were never reviewed).", messages.SUCCESS
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _highlighted(text: str):
    parts, position = [], 0
    for match in contact_matches(text):
        parts.append(
            format_html(
                '{}<mark title="{}">{}</mark>', text[position : match.start], match.kind, text[match.start : match.end]
            )
        )
        position = match.end
    return format_html_join("", "{}", ((part,) for part in [*parts, format_html("{}", text[position:])]))
