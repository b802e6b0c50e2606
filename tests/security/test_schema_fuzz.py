"""Schemathesis against a live server, authenticated as the client: every operation of the OpenAPI
schema, fed generated and boundary inputs and chained through the schema's links, answers without a
5xx and as the schema says (status code, content type, headers, body).

The server runs as in production (DEBUG off), under uvicorn and under daphne. The schema it serves is
given examples naming the seeded objects, so that operations reach real rows and not only 404s.
Figures (operations, requests, statuses) are printed for docs/reliability.md.
"""

import collections
import json
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import User
from meetings import services as meeting_services
from messaging import services as messaging_services
from messaging.models import Message
from projects import services as project_services
from tests.conftest import make_user
from tests.live import PRODUCTION_SERVER_ENV, bearer, production_access_token
from tests.meetings.conftest import AGORA_APP_CERTIFICATE, AGORA_APP_ID

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CONFIG = Path(__file__).with_name("schemathesis.toml")
RUN_SECONDS_MAX = 300


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def examples(client_user, provider, project, media_root) -> dict[str, dict]:
    """Per path: path-parameter values and a JSON request body naming objects of the client's project:
    its conversation with a text and a file message, meetings in each state the client can act on, an
    open request and a live proposal."""
    conversation = project.conversation.pk
    messaging_services.message_send(user=client_user, conversation_id=conversation, content="Hello")
    file_message = messaging_services.message_send(
        user=provider,
        conversation_id=conversation,
        content="",
        type=Message.Type.FILE,
        upload=SimpleUploadedFile("brief.pdf", b"%PDF-1.4 brief", "application/pdf"),
    ).message
    pending = meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Kickoff")
    active = meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Now", instant=True)
    invitation = meeting_services.meeting_create(
        user=provider, project_id=project.pk, title="Review", scheduled_for=timezone.now() + timedelta(days=1)
    )
    open_request = project_services.service_request_create(client=client_user, title="Logo")
    proposal = project_services.proposal_submit(
        provider=provider,
        request_id=project_services.service_request_create(client=client_user, title="Copy").pk,
        price=Decimal("900.00"),
        scope="Ten pages",
        deadline=(timezone.now() + timedelta(days=10)).date(),
    )
    pending_provider = make_user("frank", role=User.Role.PROVIDER, provider_status=User.ProviderStatus.PENDING)
    return {
        "/api/conversations/{id}": {"id": conversation},
        "/api/conversations/project/{project_id}": {"project_id": project.pk},
        "/api/meetings": {"body": {"projectId": project.pk, "title": "Fuzzed sync", "instant": True}},
        "/api/meetings/{id}": {"id": pending.pk},
        "/api/meetings/{id}/start": {"id": pending.pk},
        "/api/meetings/{id}/cancel": {"id": pending.pk},
        "/api/meetings/{id}/end": {"id": active.pk},
        "/api/meetings/{id}/token": {"id": active.pk},
        "/api/meetings/{id}/accept": {"id": invitation.pk},
        "/api/meetings/{id}/decline": {"id": invitation.pk},
        "/api/messages": {"body": {"conversationId": conversation, "type": "text", "content": "Fuzzed hello"}},
        "/api/messages/{id}/file": {"id": file_message.pk},
        "/api/messages/conversation/{conversation_id}": {"conversation_id": conversation},
        "/api/messages/conversation/{conversation_id}/read": {"conversation_id": conversation},
        "/api/projects/{id}": {"id": project.pk},
        "/api/proposals/{id}": {"id": proposal.pk},
        "/api/proposals/{id}/accept": {"id": proposal.pk, "body": {"termsHash": proposal.terms_hash}},
        "/api/proposals/{id}/reject": {"id": proposal.pk},
        "/api/providers/{id}/approve": {"id": pending_provider.pk},
        "/api/providers/{id}/suspend": {"id": pending_provider.pk},
        "/api/requests": {"body": {"title": "Fuzzed request", "description": "", "budget": "100.00"}},
        "/api/requests/{id}": {"id": open_request.pk},
        "/api/requests/{id}/proposals": {"id": open_request.pk},
        "/api/auth/register": {
            "body": {
                "username": "fuzzed",
                "email": "fuzzed@example.com",
                "password": "an-unusual-passphrase-7",
                "role": "client",
            }
        },
    }


def with_examples(schema: dict, examples_by_path: dict[str, dict]) -> dict:
    for path, path_item in schema["paths"].items():
        given = examples_by_path.get(path, {})
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in given:
                    parameter["example"] = given[parameter["name"]]
            if "body" in given and "requestBody" in operation:
                operation["requestBody"]["content"]["application/json"]["example"] = given["body"]
    return schema


def response_statuses(har_path: Path) -> collections.Counter:
    entries = json.loads(har_path.read_text())["log"]["entries"]
    return collections.Counter(entry["response"]["status"] for entry in entries)


# uvicorn serves in production (make serve), daphne in development (make run) and the other live tests.
@pytest.mark.parametrize("server_kind", ["uvicorn", "daphne"])
def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    server_kind, client_user, outsider, examples, media_root, live_servers, tmp_path
):
    server = live_servers.start(
        kind=server_kind,
        env={
            **PRODUCTION_SERVER_ENV,
            "MEDIA_ROOT": str(media_root),
            "AGORA_APP_ID": AGORA_APP_ID,
            "AGORA_APP_CERTIFICATE": AGORA_APP_CERTIFICATE,
        },
    )
    served = httpx.get(f"{server.url}/api/schema/", params={"format": "json"}).raise_for_status().json()
    schema_path = tmp_path / "schema.json"
    schema_path.write_text(json.dumps(with_examples(served, examples)))
    har_path = tmp_path / "requests.har"

    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "--config-file",
            str(CONFIG),
            "run",
            str(schema_path),
            "--url",
            server.url,
            "--no-color",
            "--report",
            "har",
            "--report-har-path",
            str(har_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS_MAX,
        # The tokens schemathesis.toml sends: the client's, and the outsider's for the operations that revoke it.
        env={
            **os.environ,
            "FUZZ_ACCESS_TOKEN": production_access_token(client_user),
            "FUZZ_REVOCABLE_ACCESS_TOKEN": production_access_token(outsider),
        },
    )

    statuses = response_statuses(har_path) if har_path.exists() else collections.Counter()
    classes = collections.Counter()
    for status, count in statuses.items():
        classes[f"{status // 100}xx"] += count
    operations = sum(len(path_item) for path_item in served["paths"].values())
    print(
        f"schemathesis: {operations} operations, {statuses.total()} requests, {dict(sorted(classes.items()))}, "
        f"by status {dict(sorted(statuses.items()))}"
    )
    print("\n".join(run.stdout.splitlines()[-25:]))
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-2000:] + server.log_tail()
    assert statuses and not [status for status in statuses if status >= 500]


def test_a_multipart_body_twisted_cannot_parse_is_answered_by_django(client_user, live_servers):
    """Found by the fuzzing: daphne's Twisted answered an empty multipart form with an empty 400."""
    server = live_servers.start()
    boundary = "fuzzed-boundary"

    response = httpx.post(
        f"{server.url}/api/messages",
        content=f"--{boundary}--\r\n".encode(),
        headers={**bearer(client_user), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    assert response.status_code == 400
    assert "conversationId" in response.json()["fields"]
