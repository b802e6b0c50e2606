"""Django's stock middleware, run on the event loop under ASGI: no thread hop unless a hook does blocking I/O.

Under ASGI, ``MiddlewareMixin.__acall__`` runs every ``process_request`` and ``process_response`` through
``sync_to_async`` and the handler wraps every sync ``process_view`` the same way: about twenty hops to the
one worker thread per request, 3.2 ms for our stack with a trivial view, against 0.34 ms for one hop
(issue 15). Most of those hooks only read headers and cookies and set headers. ``NonBlockingHooksMixin``
runs them inline on the loop and sends a hook through one ``sync_to_async`` only when it is about to do
blocking I/O, which each class below detects before calling it. Under WSGI and Django's sync test client
the stock ``__call__`` runs unchanged.

What each stock hook does, read in Django 5.2's source (re-read on a Django upgrade):

- ``SecurityMiddleware``: request, an HTTPS redirect from the host and path; response, headers. No I/O.
- ``SessionMiddleware``: request, a ``SessionStore`` from the cookie's key, nothing loaded. Response, reads
  ``accessed``/``modified``/``is_empty()`` (in memory) and sets cookie and ``Vary``; it saves, reading the
  expiry from the session, only when modified (or ``SESSION_SAVE_EVERY_REQUEST``), not empty and below
  500: that save is the hop.
- ``CommonMiddleware``: request, the user-agent and ``PREPEND_WWW`` checks and URL resolving;
  response, the append-slash redirect (resolving again) and ``Content-Length``. No I/O.
- ``CsrfViewMiddleware``: request and response read and set the CSRF cookie, unless ``CSRF_USE_SESSIONS``
  keeps the secret in the session (then they may load it: a hop). ``process_view`` compares tokens; it reads
  ``request.POST``, which for a multipart body runs the upload handlers (temporary files: a hop). Other
  bodies are in memory: ``config.body_limits`` caps them far below ``FILE_UPLOAD_MAX_MEMORY_SIZE``.
  A refusal renders the failure template from disk and logs: that rendering is a hop.
- ``AuthenticationMiddleware``: request, sets the lazy ``request.user`` and ``request.auser``. No I/O.
- ``MessageMiddleware``: request, builds the storage (nothing read; ours builds it on first use). Response,
  writes only when messages were read or added; the fallback storage may then load the session: a hop unless
  it is loaded already.
- ``XFrameOptionsMiddleware``: response, a header. No I/O.

Django's deploy checks find its middleware by dotted path: with these names they would warn that the
security, clickjacking and CSRF middleware are missing and skip every check that depends on them (HSTS,
SSL redirect, the cookies' Secure flags...). ``check_deployment_as_the_stock_classes`` runs them again
with each class here named as the stock class it extends.
"""

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.messages.storage import default_storage
from django.contrib.sessions import middleware as sessions_middleware
from django.core.checks import CheckMessage, Tags, register
from django.core.checks.registry import registry as check_registry
from django.middleware import clickjacking, common, csrf, security
from django.test.utils import override_settings
from django.utils.deprecation import MiddlewareMixin
from django.utils.functional import SimpleLazyObject, empty
from django.utils.module_loading import import_string


class NonBlockingHooksMixin:
    """Runs ``process_request``/``process_response`` on the event loop; a class says when a hook would block.

    Put it before the stock class in the bases: it replaces ``MiddlewareMixin.__acall__`` only.
    """

    def request_phase_blocks(self, request) -> bool:
        return False

    def response_phase_blocks(self, request, response) -> bool:
        return False

    async def __acall__(self, request):
        response = None
        if hasattr(self, "process_request"):
            if self.request_phase_blocks(request):
                response = await sync_to_async(self.process_request)(request)
            else:
                response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            if self.response_phase_blocks(request, response):
                response = await sync_to_async(self.process_response)(request, response)
            else:
                response = self.process_response(request, response)
        return response


class AsyncNativeMiddleware(NonBlockingHooksMixin, MiddlewareMixin):
    """The base for our own middleware: hooks as in ``MiddlewareMixin``, run on the loop under ASGI."""


def session_is_loaded(session) -> bool:
    """True when the session's data is in memory (read, written, or there is no stored session to read):
    reading it again runs no query. ``_session_cache`` is how ``SessionBase`` has always marked it."""
    return session.session_key is None or hasattr(session, "_session_cache")


def user_is_resolved(request) -> bool:
    """True when reading ``request.user`` runs no query: a view or DRF set it, the lazy session user was
    already read, or no session cookie names one."""
    return _evaluated(request.user) or request.session.session_key is None


def _evaluated(value) -> bool:
    """Whether reading ``value`` computes nothing more: it is not lazy, or its lazy object was read."""
    return not isinstance(value, SimpleLazyObject) or value._wrapped is not empty


class SecurityMiddleware(NonBlockingHooksMixin, security.SecurityMiddleware):
    pass


class SessionMiddleware(NonBlockingHooksMixin, sessions_middleware.SessionMiddleware):
    def response_phase_blocks(self, request, response) -> bool:
        session = getattr(request, "session", None)
        if session is None or session.is_empty() or response.status_code >= 500:
            return False
        return session.modified or settings.SESSION_SAVE_EVERY_REQUEST


class CommonMiddleware(NonBlockingHooksMixin, common.CommonMiddleware):
    pass


class CsrfRefused(Exception):
    """A token check refused the request: carries the reason out of the stock check to the async caller."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class CsrfViewMiddleware(NonBlockingHooksMixin, csrf.CsrfViewMiddleware):
    def __init__(self, get_response):
        super().__init__(get_response)
        if self.async_mode:
            # The handler awaits a coroutine function as it is, and wraps any other in sync_to_async.
            self.process_view = self.process_view_on_the_loop

    def request_phase_blocks(self, request) -> bool:
        return settings.CSRF_USE_SESSIONS and not session_is_loaded(request.session)

    def response_phase_blocks(self, request, response) -> bool:
        return self.request_phase_blocks(request)

    async def process_view_on_the_loop(self, request, callback, callback_args, callback_kwargs):
        view_check = super().process_view
        try:
            if request.method == "POST" and request.content_type == "multipart/form-data":
                return await sync_to_async(view_check)(request, callback, callback_args, callback_kwargs)
            return view_check(request, callback, callback_args, callback_kwargs)
        except CsrfRefused as refusal:
            return await sync_to_async(super()._reject)(request, refusal.reason)

    def _reject(self, request, reason):
        # Under ASGI the refusal is rendered by process_view_on_the_loop, in a thread.
        if self.async_mode:
            raise CsrfRefused(reason)
        return super()._reject(request, reason)


class AuthenticationMiddleware(NonBlockingHooksMixin, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(NonBlockingHooksMixin, messages_middleware.MessageMiddleware):
    """The stock middleware with the storage built on its first use: the API never uses it, and building it (the
    cookie's storage with its signer, the session's, the fallback over both) was 14 µs of every request."""

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        if not _messages_built(request):
            return response
        return super().process_response(request, response)

    def response_phase_blocks(self, request, response) -> bool:
        if not _messages_built(request):
            return False
        storage: Any = request._messages
        if not (storage.used or storage.added_new):
            return False
        return not session_is_loaded(request.session)


def _messages_built(request) -> bool:
    """Whether the request's message storage was built: on first use, or by a view that set its own."""
    storage = getattr(request, "_messages", None)
    return storage is not None and _evaluated(storage)


class XFrameOptionsMiddleware(NonBlockingHooksMixin, clickjacking.XFrameOptionsMiddleware):
    pass


def stock_name(middleware_path: str) -> str:
    """The dotted path of the stock class a class here extends; any other path as it is."""
    middleware = import_string(middleware_path)
    if middleware.__module__ != __name__:
        return middleware_path
    stock = next(base for base in middleware.__bases__ if base is not NonBlockingHooksMixin)
    return f"{stock.__module__}.{stock.__qualname__}"


def _django_security_messages(app_configs) -> list[CheckMessage]:
    checks = check_registry.get_checks(include_deployment_checks=True)
    django_checks = [
        check for check in checks if Tags.security in check.tags and check.__module__.startswith("django.")
    ]
    return [message for check in django_checks for message in check(app_configs=app_configs, databases=None)]


def _unsilenced(message: CheckMessage) -> CheckMessage:
    if not message.is_silenced():
        return message
    return CheckMessage(message.level, message.msg, hint=message.hint, obj=message.obj, id=f"config.{message.id}")


@register(Tags.security, deploy=True)
def check_deployment_as_the_stock_classes(app_configs, **kwargs) -> list[CheckMessage]:
    """Django's security checks on MIDDLEWARE with the stock names, less what they say on it as listed.

    Settings silence security.W001-W003, which the listed names always raise; one of them raised with the
    stock names too (the class is really missing) is reported here as config.security.W00x.
    """
    as_listed = _django_security_messages(app_configs)
    # The one way to show Django's checks another MIDDLEWARE; it is restored on leaving.
    with override_settings(MIDDLEWARE=[stock_name(path) for path in settings.MIDDLEWARE]):
        as_stock = _django_security_messages(app_configs)
    return [_unsilenced(message) for message in as_stock if message not in as_listed or message.is_silenced()]
