from django.contrib import admin

from projects.models import LOCKED_PROJECT_FIELDS, Project, Proposal, ServiceRequest


class ProposalInline(admin.TabularInline):
    model = Proposal
    extra = 0
    fields = ["provider", "price", "deadline", "status", "expires_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ServiceRequest)
class ServiceRequestAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "client", "status", "budget", "created_at"]
    list_filter = ["status"]
    search_fields = ["title", "description", "client__username"]
    inlines = [ProposalInline]


@admin.register(Proposal)
class ProposalAdmin(admin.ModelAdmin):
    list_display = ["id", "request", "provider", "price", "deadline", "status", "expires_at", "accepted_at"]
    list_filter = ["status"]
    search_fields = ["request__title", "provider__username", "scope"]
    readonly_fields = ["accepted_at", "created_at", "terms_hash"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status == Proposal.Status.ACCEPTED:
            return [field.name for field in obj._meta.fields] + ["terms_hash"]
        return self.readonly_fields


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["id", "public_id", "title", "client", "provider", "price", "deadline", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["title", "public_id", "client__username", "provider__username"]
    readonly_fields = [
        *(name.removesuffix("_id") if name != "public_id" else name for name in LOCKED_PROJECT_FIELDS),
        "title", "created_at", "terms_verified",
    ]
    fields = [
        "public_id", "title", "status", "client", "provider", "proposal", "request", "price", "scope", "deadline",
        "terms_snapshot", "terms_hash", "terms_verified", "created_at",
    ]

    @admin.display(boolean=True, description="Snapshot matches its hash")
    def terms_verified(self, project):
        return project.terms_verify()

    def has_add_permission(self, request):
        return False  # projects are born from accepted proposals only
