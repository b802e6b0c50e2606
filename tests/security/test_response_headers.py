"""What a browser may do with our responses: every one carries the Content-Security-Policy, and whatever is
served to a signed-in user (pages, API answers, file downloads) is ``Cache-Control: private, no-store``."""

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from config.security_headers import content_security_policy

pytestmark = pytest.mark.django_db

PRIVATE = "private, no-store"


def _jwt_api(user) -> APIClient:
    """An API client presenting the user's JWT, as integrators do (not a forced login)."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return api


def test_pages_carry_the_content_security_policy(client, client_user):
    client.force_login(client_user)

    response = client.get(reverse("dashboard"))

    assert response["Content-Security-Policy"] == content_security_policy(settings.CONTENT_SECURITY_POLICY)


def test_api_answers_carry_the_content_security_policy(client):
    response = client.get("/api/health")

    assert response["Content-Security-Policy"] == content_security_policy(settings.CONTENT_SECURITY_POLICY)


def test_the_policy_runs_no_inline_code_and_scripts_only_from_the_site_and_the_agora_sdk():
    sdk = urlsplit(settings.AGORA_SDK_URL)

    assert settings.CONTENT_SECURITY_POLICY["script-src"] == ["'self'", f"{sdk.scheme}://{sdk.netloc}"]
    assert "'unsafe-inline'" not in settings.CONTENT_SECURITY_POLICY["style-src"]
    assert settings.CONTENT_SECURITY_POLICY["frame-ancestors"] == ["'none'"]


def test_swagger_ui_has_no_inline_script_or_style(client):
    page = client.get("/api/docs/").content.decode()

    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", page) == []
    assert "<style" not in page and " style=" not in page
    start_up = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', page).group(1)
    assert client.get(start_up.replace("&amp;", "&"))["Content-Type"].startswith("application/javascript")


def test_a_signed_in_users_page_is_private_and_not_stored(client, client_user, project):
    client.force_login(client_user)

    response = client.get(reverse("project-detail", args=[project.pk]))

    assert response.status_code == 200
    assert response["Cache-Control"] == PRIVATE


def test_api_answers_to_a_jwt_caller_are_private_and_not_stored(client_user, project):
    response = _jwt_api(client_user).get("/api/projects")

    assert response.status_code == 200
    assert response["Cache-Control"] == PRIVATE


def test_api_answers_to_a_session_caller_are_private_and_not_stored(client, client_user, project):
    client.force_login(client_user)

    response = client.get("/api/projects")

    assert response.status_code == 200
    assert response["Cache-Control"] == PRIVATE


def test_file_downloads_are_private_and_not_stored(client_user, provider, conversation, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = _jwt_api(client_user).post(
        "/api/messages",
        {
            "conversationId": conversation.pk,
            "type": "file",
            "file": SimpleUploadedFile("brief.pdf", b"%PDF-1.4 brief", "application/pdf"),
        },
        format="multipart",
    )

    response = _jwt_api(provider).get(f"/api/messages/{upload.data['id']}/file")

    assert response.status_code == 200
    assert response["Cache-Control"] == PRIVATE


def test_answers_to_anonymous_callers_are_not_marked_private(client):
    response = client.get("/api/health")

    assert PRIVATE not in response.get("Cache-Control", "")
