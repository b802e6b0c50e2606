"""The middleware stack under ASGI (kernel/async_middleware.py): an async view behind it is reached, and its
response sent, with no thread hop for a Bearer JWT API request; a session request hops only where a hook does
blocking I/O (saving the session, reading the signed-in user). Hops are counted as calls into asgiref's
``sync_to_async``, through Django's real ASGI handler. Django's deploy checks still see the stock classes."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator
from django.conf import settings
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.handlers.asgi import ASGIHandler
from django.http import JsonResponse
from django.test import AsyncClient, override_settings
from django.urls import include, path
from rest_framework_simplejwt.models import TokenUser
from rest_framework_simplejwt.tokens import AccessToken

from bench.middleware_micro import STOCK_MIDDLEWARE
from kernel.async_middleware import check_deployment_as_the_stock_classes
from tests.conftest import HANDLER_HOPS

pytestmark = pytest.mark.urls(__name__)

PRIVATE = "private, no-store"
NOTIFICATION_FORM = {"email": "daily", "daily_digest_time": "07:15", "time_zone": "America/New_York"}


async def bearer_api_view(request):
    """What an async API view does with a Bearer JWT: the signature checked, the user built from the token."""
    request.user = TokenUser(AccessToken(request.headers["Authorization"].removeprefix("Bearer ")))
    return JsonResponse({"user": request.user.id})


async def session_writing_view(request):
    await request.session.aset("seen", True)
    return JsonResponse({"seen": True})


async def quiet_view(request):
    return JsonResponse({})


urlpatterns = [
    path("bearer", bearer_api_view),
    path("session", session_writing_view),
    path("quiet", quiet_view),
    path("", include("config.urls")),
]


async def _request(
    path_: str, *, method: str = "GET", headers: dict[str, str] | None = None, body: bytes = b""
) -> dict:
    """One request through a fresh ASGI handler (so MIDDLEWARE overrides apply), with this module's URLs."""
    wire_headers = [(b"host", b"127.0.0.1")]
    wire_headers += [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    communicator = HttpCommunicator(ASGIHandler(), method, path_, body=body, headers=wire_headers)
    response = await communicator.get_response()
    await communicator.wait()  # the handler's response.close() comes after the body
    response["headers"] = {name.decode().lower(): value.decode() for name, value in response["headers"]}
    return response


def _bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


@pytest.mark.django_db(transaction=True)
async def test_a_bearer_api_request_reaches_an_async_view_and_is_answered_without_a_thread_hop(hops, client_user):
    response = await _request("/bearer", headers=_bearer(client_user))

    assert response["status"] == 200
    assert hops == HANDLER_HOPS


@pytest.mark.django_db(transaction=True)
async def test_the_stock_middleware_hops_to_a_thread_for_each_hook(hops, client_user):
    """The count above means something: the same request behind Django's stock classes hops per hook."""
    with override_settings(MIDDLEWARE=STOCK_MIDDLEWARE):
        response = await _request("/bearer", headers=_bearer(client_user))

    assert response["status"] == 200
    assert len(hops) - len(HANDLER_HOPS) > 10


@pytest.mark.django_db(transaction=True)
async def test_the_bearer_answer_keeps_every_security_header(hops, client_user):
    response = await _request("/bearer", headers=_bearer(client_user))

    assert response["headers"]["cache-control"] == PRIVATE
    assert response["headers"]["x-frame-options"] == "DENY"
    assert response["headers"]["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response["headers"]
    assert response["headers"]["content-length"] == str(len(response["body"]))


@pytest.mark.django_db(transaction=True)
async def test_an_api_request_builds_no_message_storage(hops, client_user, monkeypatch):
    built = []
    build = FallbackStorage.__init__
    monkeypatch.setattr(
        FallbackStorage, "__init__", lambda storage, request: built.append(request) or build(storage, request)
    )

    response = await _request("/bearer", headers=_bearer(client_user))

    assert response["status"] == 200
    assert built == []


@pytest.mark.django_db(transaction=True)
async def test_a_message_a_page_adds_under_asgi_is_shown_by_the_page_it_redirects_to(provider):
    browser = AsyncClient()
    await browser.aforce_login(provider)

    response = await browser.post("/settings/notifications", NOTIFICATION_FORM, follow=True)

    assert response.redirect_chain == [("/settings/notifications", 302)]
    assert b"Your email settings are saved." in response.content


@pytest.mark.django_db(transaction=True)
async def test_saving_a_modified_session_is_the_one_hop_of_the_middleware(hops):
    response = await _request("/session")

    assert response["status"] == 200
    assert settings.SESSION_COOKIE_NAME in response["headers"]["set-cookie"]
    assert hops == [HANDLER_HOPS[0], "SessionMiddleware.process_response", HANDLER_HOPS[1]]


@pytest.mark.django_db(transaction=True)
async def test_a_signed_in_browsers_request_hops_once_to_read_who_is_signed_in(hops, client, client_user):
    await sync_to_async(client.force_login)(client_user)
    hops.clear()
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    response = await _request("/quiet", headers={"Cookie": cookie})

    assert response["headers"]["cache-control"] == PRIVATE
    assert hops == [HANDLER_HOPS[0], "PrivateResponsesMiddleware.process_response", HANDLER_HOPS[1]]


@pytest.mark.django_db(transaction=True)
async def test_a_post_without_a_csrf_token_is_refused_with_one_hop_to_render_the_refusal(hops):
    response = await _request("/quiet", method="POST", headers={"Cookie": "csrftoken=" + "a" * 32})

    assert response["status"] == 403
    assert b"CSRF" in response["body"]
    # The handler logs every 4xx too (log_response), from a thread of its own.
    assert hops == [HANDLER_HOPS[0], "CsrfViewMiddleware._reject", "log_response", HANDLER_HOPS[1]]


@pytest.mark.django_db(transaction=True)
async def test_a_multipart_post_has_its_csrf_token_checked_in_a_thread(hops):
    """Reading a multipart form runs the upload handlers, which may write temporary files."""
    token = "a" * 32
    form = f'--b\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n{token}\r\n--b--\r\n'
    headers = {
        "Cookie": f"csrftoken={token}",
        "Content-Type": "multipart/form-data; boundary=b",
        "Content-Length": str(len(form)),
    }

    response = await _request("/quiet", method="POST", headers=headers, body=form.encode())

    assert response["status"] == 200
    assert hops == [HANDLER_HOPS[0], "CsrfViewMiddleware.process_view", HANDLER_HOPS[1]]


def _deploy_check_ids() -> set[str]:
    return {message.id for message in check_deployment_as_the_stock_classes(None)}


def test_the_deploy_check_finds_nothing_to_say_on_the_stack_as_configured_for_production(settings):
    settings.SECURE_HSTS_SECONDS, settings.SECURE_SSL_REDIRECT = 3600, True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True

    assert _deploy_check_ids() == set()


def test_the_deploy_check_reports_a_middleware_that_is_really_missing(settings):
    settings.MIDDLEWARE = [path for path in settings.MIDDLEWARE if not path.endswith(".SecurityMiddleware")]

    assert "config.security.W001" in _deploy_check_ids()


def test_the_deploy_check_still_checks_what_depends_on_the_async_native_classes(settings):
    settings.SECURE_HSTS_SECONDS, settings.CSRF_COOKIE_SECURE = 0, False

    assert {"security.W004", "security.W016"} <= _deploy_check_ids()
