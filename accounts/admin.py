"""Support staff manage accounts: approving and suspending providers, deactivating users. Each is an action that
goes through the accounts service, as the API does; role, provider status and activity are read-only fields."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts import services
from accounts.models import User, WebSocketTicket
from kernel.admin_actions import apply_service

STATE_FIELDS = ["role", "provider_status", "is_active"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "role", "provider_status", "is_active", "is_staff", "date_joined"]
    list_filter = ["role", "provider_status", "is_staff", "is_active"]
    search_fields = ["username", "email"]
    fieldsets = [*(BaseUserAdmin.fieldsets or ()), ("Marketplace", {"fields": ["role", "provider_status"]})]
    add_fieldsets = [*(BaseUserAdmin.add_fieldsets or ()), ("Marketplace", {"fields": ["role", "provider_status"]})]
    actions = ["approve_providers", "suspend_providers", "deactivate_users", "reactivate_users"]

    def get_readonly_fields(self, request, obj=None):
        # A new account is given its role here; an existing one changes state only through the actions.
        return [*super().get_readonly_fields(request, obj), *(STATE_FIELDS if obj is not None else [])]

    @admin.action(description="Approve selected providers", permissions=["change"])
    def approve_providers(self, request, queryset):
        self._set_provider_status(request, queryset, User.ProviderStatus.APPROVED, done="Approved")

    @admin.action(description="Suspend selected providers", permissions=["change"])
    def suspend_providers(self, request, queryset):
        self._set_provider_status(request, queryset, User.ProviderStatus.SUSPENDED, done="Suspended")

    @admin.action(description="Deactivate selected users (closes their sockets)", permissions=["change"])
    def deactivate_users(self, request, queryset):
        self._set_active(request, queryset, False, done="Deactivated")

    @admin.action(description="Reactivate selected users", permissions=["change"])
    def reactivate_users(self, request, queryset):
        self._set_active(request, queryset, True, done="Reactivated")

    def _set_provider_status(self, request, queryset, status, *, done):
        apply_service(
            self,
            request,
            queryset,
            lambda user: services.provider_set_status(provider_id=user.pk, status=status),
            done=done,
        )

    def _set_active(self, request, queryset, is_active, *, done):
        apply_service(
            self,
            request,
            queryset,
            lambda user: services.user_set_active(user_id=user.pk, is_active=is_active),
            done=done,
        )


@admin.register(WebSocketTicket)
class WebSocketTicketAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at", "expires_at", "used_at"]
    readonly_fields = ["user", "digest", "created_at", "expires_at", "used_at"]
    search_fields = ["user__username"]

    def has_add_permission(self, request):
        return False
