"""The pages of the notifications module: a user's email settings, and the unsubscribe link of every email."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from kernel.errors import UnsubscribeLinkInvalid
from notifications import selectors, services
from notifications.forms import PreferenceForm
from notifications.tokens import unsubscribe_token_user_id


class NotificationSettingsView(LoginRequiredMixin, View):
    template_name = "notifications/settings.html"

    def get(self, request):
        preference = selectors.preference_get(user=request.user)
        form = PreferenceForm(
            initial={
                "email": preference.email,
                "daily_digest_time": preference.daily_digest_time,
                "time_zone": preference.time_zone,
            }
        )
        return render(request, self.template_name, {"form": form})

    def post(self, request):
        form = PreferenceForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        services.preference_update(user=request.user, **form.cleaned_data)
        messages.success(request, "Your email settings are saved.")
        return redirect("notification-settings")


@method_decorator(csrf_exempt, name="dispatch")
class UnsubscribeView(View):
    """The link in every email's ``List-Unsubscribe``; it needs no login, the signed token is the proof.

    GET shows a page with a button and changes nothing (mail scanners open links); POST, the mail client's
    one-click (RFC 8058) or the button, turns the user's emails off. CSRF does not apply: nothing but the
    token, which a forger cannot make, chooses whose emails go off.
    """

    template_name = "notifications/unsubscribe.html"

    def get(self, request, token: str):
        try:
            unsubscribe_token_user_id(token=token)
        except UnsubscribeLinkInvalid as exc:
            return render(request, self.template_name, {"error": exc.detail}, status=400)
        return render(request, self.template_name, {"token": token})

    def post(self, request, token: str):
        try:
            services.preference_unsubscribe(token=token)
        except UnsubscribeLinkInvalid as exc:
            return render(request, self.template_name, {"error": exc.detail}, status=400)
        return render(request, self.template_name, {"done": True})
