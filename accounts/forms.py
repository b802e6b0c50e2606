"""The HTML login forms (``/login``, ``/admin/login/``, ``/api-auth/login/``): Django's, with a refused
attempt (``accounts.login_guard``) shown as a form error instead of a server error."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from kernel.errors import RateLimited


class RateLimitedLoginMixin:
    def clean(self):
        try:
            return super().clean()
        except RateLimited as exc:
            raise ValidationError(exc.detail, code=exc.code) from exc


class LoginForm(RateLimitedLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(RateLimitedLoginMixin, AdminAuthenticationForm):
    pass
