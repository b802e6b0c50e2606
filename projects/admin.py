"""Support staff browse requests, proposals and projects; every change of state is an action that goes through
the same service as the API (accepting and rejecting on the client's behalf, closing a project), so its checks
and events hold here too. The status fields themselves are read-only."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from kernel.admin_actions import apply_service
from projects import services
from projects.models import LOCKED_PROJECT_FIELDS, Project, ProjectMember, Proposal, ServiceRequest


class ProposalInline(admin.TabularInline):
    model = Proposal
    extra = 0
    fields = readonly_fields = ("provider", "price", "deadline", "status", "expires_at")
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class ProjectMemberInline(admin.TabularInline):
    """The teammates the owners added (the owners are the project's client and provider). Read-only: a member
    joins through their owner's request, and leaves by their owner's, or by support staff's removal of their
    participant from the conversation (Messaging › Participants), which ends this row too."""

    model = ProjectMember
    extra = 0
    fields = readonly_fields = ("user", "side", "added_by", "created_at")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class FlowModelAdmin(admin.ModelAdmin):
    """Rows of the accept flow are born and ended by their services only (the API), never added or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ServiceRequest)
class ServiceRequestAdmin(FlowModelAdmin):
    list_display = ["id", "title", "client", "status", "budget", "created_at"]
    list_filter = ["status"]
    search_fields = ["title", "description", "client__username"]
    list_select_related = ["client"]
    fields = ["title", "description", "budget", "client", "status", "created_at"]
    # The status moves only with its proposals (an accept converts it); the client is who may accept.
    readonly_fields = ["client", "status", "created_at"]
    inlines = [ProposalInline]


@admin.register(Proposal)
class ProposalAdmin(FlowModelAdmin):
    list_display = ["id", "request", "provider", "price", "deadline", "status", "expires_at", "accepted_at"]
    list_filter = ["status", "provider__provider_status"]
    search_fields = ["request__title", "provider__username", "scope"]
    list_select_related = ["request", "provider"]
    fields = [
        "request",
        "provider",
        "status",
        "price",
        "scope",
        "deadline",
        "expires_at",
        "accepted_at",
        "created_at",
        "terms_hash",
    ]
    readonly_fields = ["request", "provider", "status", "accepted_at", "created_at", "terms_hash"]
    actions = ["accept_proposals", "reject_proposals"]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status == Proposal.Status.ACCEPTED:
            return self.fields
        return self.readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("request__client")

    @admin.action(description="Accept selected proposals for their clients", permissions=["change"])
    def accept_proposals(self, request, queryset):
        apply_service(
            self,
            request,
            queryset,
            lambda proposal: services.proposal_accept(proposal_id=proposal.pk, user=proposal.request.client),
            done="Accepted for the client",
        )

    @admin.action(description="Reject selected proposals for their clients", permissions=["change"])
    def reject_proposals(self, request, queryset):
        apply_service(
            self,
            request,
            queryset,
            lambda proposal: services.proposal_reject(proposal_id=proposal.pk, user=proposal.request.client),
            done="Rejected for the client",
        )


@admin.register(Project)
class ProjectAdmin(FlowModelAdmin):
    list_display = ["id", "public_id", "title", "client", "provider", "price", "deadline", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["title", "public_id", "client__username", "provider__username"]
    list_select_related = ["client", "provider"]
    readonly_fields = [
        *(name.removesuffix("_id") if name != "public_id" else name for name in LOCKED_PROJECT_FIELDS),
        "title",
        "status",
        "created_at",
        "terms_verified",
        "evidence",
    ]
    fields = [
        "public_id",
        "title",
        "status",
        "client",
        "provider",
        "proposal",
        "request",
        "price",
        "scope",
        "deadline",
        "terms_snapshot",
        "terms_hash",
        "terms_verified",
        "evidence",
        "created_at",
    ]
    actions = ["complete_projects", "cancel_projects"]
    inlines = [ProjectMemberInline]

    @admin.display(boolean=True, description="Snapshot matches its hash")
    def terms_verified(self, project):
        return project.terms_verify()

    @admin.display(description="Evidence export")
    def evidence(self, project):
        # The API's export (docs/evidence.md), which a signed-in staff member's session may call.
        url = reverse("project-evidence-export", kwargs={"pk": project.pk})
        return format_html(
            '<a href="{}">Bundle (JSON)</a> · <a href="{}?withFiles=true">With files (ZIP)</a>', url, url
        )

    @admin.action(description="Complete selected projects", permissions=["change"])
    def complete_projects(self, request, queryset):
        self._close(request, queryset, Project.Status.COMPLETED, done="Completed")

    @admin.action(description="Cancel selected projects", permissions=["change"])
    def cancel_projects(self, request, queryset):
        self._close(request, queryset, Project.Status.CANCELLED, done="Cancelled")

    def _close(self, request, queryset, status, *, done):
        apply_service(
            self,
            request,
            queryset,
            lambda project: services.project_set_status(project_id=project.pk, status=status),
            done=done,
        )
