"""One limit on password attempts for every login path (``POST /api/auth/token``, ``/login``,
``/admin/login/``, ``/api-auth/login/``): all of them call ``django.contrib.auth.authenticate``, and the
backend here is the only one it tries.

Attempts are counted per (account name, client address) and per client address across accounts:
- keyed by address as well as account, a stranger's guesses at an account use up the budget of the
  stranger's address only; the owner logging in from their own address is still admitted;
- the per-address limit stops spraying one password across many accounts from one address.
An attempt is counted before the password is checked (one atomic increment each, in Redis across
processes), so concurrent guesses cannot slip past the limit together; a login that succeeds gives
its attempt back, so only failures use the budget. Past either limit the attempt is refused with
``RateLimited`` (429 and ``Retry-After`` on the API, a form error on the HTML login pages) without
checking the password.
"""

import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from kernel.client_address import client_address
from kernel.errors import RateLimited
from kernel.ratelimit import Rate, rate_refund, rate_spend

ACCOUNT_AND_ADDRESS_SCOPE = "login_account_address"
ADDRESS_SCOPE = "login_address"


def _account_key(username: str) -> str:
    # Hashed: account names typed at the login form (often passwords typed in the wrong box) stay out of Redis.
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def _limits(username: str, address: str) -> list[tuple[str, str, Rate]]:
    return [
        (
            ACCOUNT_AND_ADDRESS_SCOPE,
            f"{_account_key(username)}:{address}",
            Rate.parse(settings.LOGIN_RATE_PER_ACCOUNT_AND_ADDRESS),
        ),
        (ADDRESS_SCOPE, address, Rate.parse(settings.LOGIN_RATE_PER_ADDRESS)),
    ]


class LoginGuardBackend(ModelBackend):
    """Django's ``ModelBackend`` behind the attempt limits. A call without a request (the test client's
    ``login()``, a shell) has no address to count and is not limited: every HTTP login path passes one."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if request is None or username is None or password is None:
            return super().authenticate(request, username=username, password=password, **kwargs)
        limits = _limits(str(username), client_address(request))
        for scope, ident, rate in limits:
            # In order, stopping at the first refusal: an attempt refused for its account does not also use
            # up its address's budget, so a flood at one account reaches the password check exactly the limit.
            retry_after = rate_spend(scope=scope, ident=ident, rate=rate)
            if retry_after is not None:
                raise RateLimited(
                    f"Too many failed login attempts. Try again in {_in_words(retry_after)}.", retry_after=retry_after
                )
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            for scope, ident, rate in limits:
                rate_refund(scope=scope, ident=ident, rate=rate)
        return user


def _in_words(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return f"{seconds} seconds" if seconds < 60 else f"{minutes} minute{'s' if minutes > 1 else ''}"
