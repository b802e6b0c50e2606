"""Support staff see each user's email preference (the user changes it: settings page, API, unsubscribe link)
and every email the worker sent, skipped, is retrying or gave up on; the Retry action sends failed ones again."""

from django.contrib import admin, messages

from notifications import services
from notifications.models import Notification, NotificationPreference


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "email", "daily_digest_time", "time_zone", "updated_at"]
    list_filter = ["email"]
    search_fields = ["user__username", "user__email"]
    readonly_fields = ["user", "email", "daily_digest_time", "time_zone", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "user", "status", "attempts", "next_attempt_at", "outcome", "last_error"]
    list_filter = ["status", "kind"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    readonly_fields = [
        "kind",
        "user",
        "status",
        "conversation",
        "through_seq",
        "digest_date",
        "meeting",
        "meeting_sequence",
        "meeting_time",
        "report",
        "outcome",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_error",
        "claimed_until",
        "created_at",
    ]
    exclude = ["claim_token"]
    actions = ["retry"]

    @admin.action(description="Retry the selected failed emails now", permissions=["change"])
    def retry(self, request, queryset):
        retried = services.notifications_retry(notification_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Retrying now: {retried}.", level=messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
