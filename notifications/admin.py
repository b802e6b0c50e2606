"""Support staff see each user's email preference; the user changes it (settings page, API, unsubscribe link)."""

from django.contrib import admin

from notifications.models import NotificationPreference


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
