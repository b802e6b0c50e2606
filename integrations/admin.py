"""Support staff register webhook endpoints (the secret is shown once, on creation) and watch every delivery:
its status, attempts and the last answer; the Retry action makes chosen deliveries pending and due now."""

from django import forms
from django.contrib import admin, messages

from integrations import events, outbound, services
from integrations.models import Delivery, Endpoint
from kernel.errors import Invalid


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in events.SUBSCRIBABLE], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Endpoint
        fields = ["url", "events", "description", "active"]

    def clean_url(self) -> str:
        """The service's check of the target, shown on the field instead of failing the save."""
        url = self.cleaned_data["url"]
        try:
            outbound.validate_url(url)
        except Invalid as exc:
            raise forms.ValidationError(exc.detail) from exc
        return url


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["id", "url", "active", "description", "created_by", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "description"]

    def save_model(self, request, obj, form, change):
        """Through the service: the URL's target is checked, and a new endpoint gets its secret."""
        data = form.cleaned_data
        if change:
            services.endpoint_update(endpoint_id=obj.pk, **{field: data[field] for field in form.changed_data})
            return
        created = services.endpoint_create(
            url=data["url"], events=data["events"], description=data["description"], by=request.user
        )
        obj.pk = created.pk
        self.message_user(
            request, f"The endpoint's signing secret, shown only now: {created.secret}", level=messages.WARNING
        )


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "event_type", "endpoint", "status", "attempts", "last_status_code", "last_attempt_at"]
    list_filter = ["status", "event__type"]
    list_select_related = ["event", "endpoint"]
    search_fields = ["event__public_id", "endpoint__url"]
    readonly_fields = [
        "event",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "claimed_until",
        "created_at",
    ]
    exclude = ["claim_token"]
    actions = ["retry"]

    @admin.display(description="Event", ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.type

    @admin.action(description="Retry the selected deliveries now", permissions=["change"])
    def retry(self, request, queryset):
        retried = services.deliveries_retry(delivery_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Retrying now: {retried}.", level=messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
