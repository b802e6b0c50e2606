from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts import services
from accounts.models import User, WebSocketTicket
from config.errors import DomainError


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "role", "provider_status", "is_staff", "date_joined"]
    list_filter = ["role", "provider_status", "is_staff", "is_active"]
    search_fields = ["username", "email"]
    fieldsets = [*BaseUserAdmin.fieldsets, ("Marketplace", {"fields": ["role", "provider_status"]})]
    add_fieldsets = [*BaseUserAdmin.add_fieldsets, ("Marketplace", {"fields": ["role", "provider_status"]})]
    actions = ["approve_providers", "suspend_providers"]

    def _set_provider_status(self, request, queryset, status):
        for user in queryset:
            try:
                services.provider_set_status(provider_id=user.pk, status=status)
            except DomainError as exc:
                self.message_user(request, f"{user.username}: {exc.message}", level=messages.WARNING)

    @admin.action(description="Approve selected providers")
    def approve_providers(self, request, queryset):
        self._set_provider_status(request, queryset, User.ProviderStatus.APPROVED)

    @admin.action(description="Suspend selected providers")
    def suspend_providers(self, request, queryset):
        self._set_provider_status(request, queryset, User.ProviderStatus.SUSPENDED)


@admin.register(WebSocketTicket)
class WebSocketTicketAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "expires_at", "used_at"]
    readonly_fields = ["user", "digest", "created_at", "expires_at", "used_at"]
    search_fields = ["user__username"]

    def has_add_permission(self, request):
        return False
