"""The evidence export: a self-contained, sealed bundle of a project that members and support staff download
and that ``verify_export`` proves unchanged."""

import hashlib
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from evidence.bundle import evidence_verify
from meetings import services as meeting_services
from messaging import services as messaging_services
from projects import services as project_services
from tests.meetings.conftest import agora_configured  # noqa: F401

pytestmark = pytest.mark.django_db

BRIEF = b"%PDF-1.4 the brief, version one"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _send(user, conversation, content):
    return messaging_services.message_send(user=user, conversation_id=conversation.pk, content=content).message


def _upload(user, conversation, *, name="brief.pdf", body=BRIEF):
    return messaging_services.message_send(
        user=user,
        conversation_id=conversation.pk,
        content="",
        type="file",
        upload=SimpleUploadedFile(name, body, "application/pdf"),
    ).message


def _export(api, user, project, **query):
    return api.as_user(user).get(f"/api/projects/{project.pk}/export", query)


def _bundle(response) -> dict:
    return json.loads(response.content)


def test_a_member_downloads_a_bundle_that_verifies(api, client_user, provider, project, conversation):
    _send(provider, conversation, "Draft is ready")

    response = _export(api, client_user, project)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="project-{project.pk}-evidence.json"'
    assert evidence_verify(response.content).ok


def test_the_bundle_says_the_conversations_record_verifies(api, client_user, project, conversation):
    _send(client_user, conversation, "Hello")

    assert _bundle(_export(api, client_user, project))["recordBreak"] is None


def test_the_bundle_holds_the_locked_terms_and_their_hash(api, client_user, project):
    terms = _bundle(_export(api, client_user, project))["project"]

    assert terms["terms"] == project.terms_snapshot
    assert terms["termsHash"] == project.terms_hash
    assert terms["termsHashMatches"] is True


def test_the_bundle_holds_every_message_in_seq_order_with_edits_and_deletes(
    api, client_user, provider, project, conversation
):
    first = _send(client_user, conversation, "Hello")
    edited = _send(provider, conversation, "Price is 1500")
    messaging_services.message_edit(user=provider, message_id=edited.pk, content="Price is 1400")
    deleted = _send(client_user, conversation, "Oops, wrong chat")
    messaging_services.message_delete(user=client_user, message_id=deleted.pk)

    messages = _bundle(_export(api, client_user, project))["messages"]

    assert [message["seq"] for message in messages] == [first.seq, edited.seq, deleted.seq]
    assert messages[1]["content"] == "Price is 1400"
    assert [(revision["change"], revision["content"]) for revision in messages[1]["revisions"]] == [
        ("edited", "Price is 1500")
    ]
    assert messages[2]["content"] == "" and messages[2]["deletedAt"] is not None
    assert all(message["hash"] for message in messages)
    assert messages[1]["revisions"][0]["hash"] and messages[2]["revisions"][0]["hash"]
    assert [(revision["change"], revision["content"]) for revision in messages[2]["revisions"]] == [
        ("deleted", "Oops, wrong chat")
    ]


def test_a_file_is_named_with_its_size_and_sha256(api, client_user, project, conversation):
    _upload(client_user, conversation)

    (message,) = _bundle(_export(api, client_user, project))["messages"]

    assert message["file"] == {"name": "brief.pdf", "size": len(BRIEF), "sha256": hashlib.sha256(BRIEF).hexdigest()}


def test_the_bundle_includes_a_removed_members_messages(api, client_user, provider, staff, project, conversation):
    _send(provider, conversation, "Before I was removed")
    messaging_services.participant_remove(conversation_id=conversation.pk, user_id=provider.pk, by=staff)

    bundle = _bundle(_export(api, client_user, project))

    assert [message["content"] for message in bundle["messages"]] == [
        "Before I was removed",
        "bob left the conversation.",
    ]
    members = {member["user"]["id"]: member for member in bundle["members"]}
    assert members[provider.pk]["member"] is False
    assert members[provider.pk]["stays"][-1]["leftAt"] is not None
    assert members[client_user.pk]["member"] is True


def test_a_teammates_stays_are_recorded(api, client_user, client_teammate, project):
    project_services.project_member_add(project_id=project.pk, user_id=client_teammate.pk, by=client_user)
    project_services.project_member_remove(project_id=project.pk, user_id=client_teammate.pk, by=client_user)
    project_services.project_member_add(project_id=project.pk, user_id=client_teammate.pk, by=client_user)

    members = {member["user"]["id"]: member for member in _bundle(_export(api, client_user, project))["members"]}

    teammate = members[client_teammate.pk]
    assert (teammate["owner"], teammate["member"]) == (False, True)
    assert [stay["leftAt"] is None for stay in teammate["stays"]] == [False, True]


def test_the_bundle_holds_meetings_with_their_participants(api, client_user, provider, project, agora_configured):
    meeting = meeting_services.meeting_create(user=client_user, project_id=project.pk, title="Kick-off", instant=True)

    (exported,) = _bundle(_export(api, client_user, project))["meetings"]

    assert exported["id"] == meeting.pk and exported["title"] == "Kick-off"
    assert {participant["user"]["id"] for participant in exported["participants"]} == {client_user.pk, provider.pk}


def test_two_exports_of_unchanged_data_differ_only_in_their_generation_time(api, client_user, project, conversation):
    _send(client_user, conversation, "Hello")

    first, second = _bundle(_export(api, client_user, project)), _bundle(_export(api, client_user, project))

    differing = {key for key in first.keys() | second.keys() if first.get(key) != second.get(key)}
    assert differing <= {"generatedAt", "signature"}
    assert first["digest"] == second["digest"]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda data: data.replace(b"Deliver by Friday", b"Deliver by Monday"), id="a message's text"),
        pytest.param(lambda data: data.replace(b'"generatedAt":"2', b'"generatedAt":"1'), id="the generation time"),
        pytest.param(lambda data: data.replace(b'"digest":"sha256:', b'"digest":"sha256:0'), id="the digest"),
        pytest.param(lambda data: data.replace(b",", b", ", 1), id="one added space"),
        pytest.param(lambda data: data[:-1], id="a byte cut off"),
    ],
)
def test_a_changed_byte_fails_verification(api, client_user, project, conversation, tamper):
    _send(client_user, conversation, "Deliver by Friday")
    exported = _export(api, client_user, project).content

    tampered = tamper(exported)

    assert tampered != exported
    assert not evidence_verify(tampered).ok


def test_a_bundle_sealed_with_another_key_fails_verification(api, client_user, project, settings):
    exported = _export(api, client_user, project).content

    settings.EVIDENCE_SIGNING_KEY = "another server's key, 32 characters or more"

    assert "signature" in evidence_verify(exported).problem


def test_the_zip_carries_the_files_and_verifies(api, client_user, provider, project, conversation):
    _upload(client_user, conversation)
    replaced = _upload(provider, conversation, name="quote.pdf", body=b"quote v1")
    messaging_services.message_delete(user=provider, message_id=replaced.pk)

    response = _export(api, client_user, project, withFiles="true")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    data = b"".join(response.streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert sorted(archive.namelist()) == sorted(
        ["bundle.json", "files/1/brief.pdf", f"files/{replaced.seq}/revisions/1/quote.pdf"]
    )
    assert archive.read("files/1/brief.pdf") == BRIEF
    assert evidence_verify(data).ok


def test_a_zip_with_a_changed_file_fails_verification(api, client_user, project, conversation):
    _upload(client_user, conversation)
    original = zipfile.ZipFile(
        io.BytesIO(b"".join(_export(api, client_user, project, withFiles="true").streaming_content))
    )
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(rebuilt, "w") as archive:
        for name in original.namelist():
            body = original.read(name)
            archive.writestr(name, body.replace(b"brief", b"BRIEF") if name.startswith("files/") else body)

    verdict = evidence_verify(rebuilt.getvalue())

    assert not verdict.ok and "files/1/brief.pdf" in verdict.problem


def test_a_file_missing_from_storage_is_named_without_a_hash(api, client_user, project, conversation, media_root):
    message = _upload(client_user, conversation)
    (media_root / message.file.name).unlink()

    response = _export(api, client_user, project, withFiles="true")

    data = b"".join(response.streaming_content)
    bundle = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("bundle.json"))
    assert bundle["messages"][0]["file"] == {"name": "brief.pdf", "size": None, "sha256": None}
    assert evidence_verify(data).ok


def test_an_outsider_gets_404(api, outsider, project):
    assert _export(api, outsider, project).status_code == 404


def test_an_anonymous_caller_gets_401(api, project):
    assert _export(api, None, project).status_code == 401


def test_support_staff_export_any_project(api, staff, project):
    response = _export(api, staff, project)

    assert response.status_code == 200
    assert evidence_verify(response.content).ok


def test_a_removed_member_can_no_longer_export(api, provider, staff, project, conversation):
    messaging_services.participant_remove(conversation_id=conversation.pk, user_id=provider.pk, by=staff)

    assert _export(api, provider, project).status_code == 404


def test_with_files_must_be_a_boolean(api, client_user, project):
    response = _export(api, client_user, project, withFiles="maybe")

    assert response.status_code == 400
    assert "withFiles" in response.json()["fields"]


def test_verify_export_accepts_a_fresh_export_and_refuses_a_changed_one(api, client_user, project, tmp_path, capsys):
    exported = tmp_path / "export.json"
    exported.write_bytes(_export(api, client_user, project).content)

    call_command("verify_export", str(exported))
    assert "verified" in capsys.readouterr().out

    exported.write_bytes(exported.read_bytes().replace(b'"status":"active"', b'"status":"cancelled"'))
    with pytest.raises(CommandError, match="NOT verified"):
        call_command("verify_export", str(exported))


def test_staff_export_from_the_admins_project_page(staff_admin, project):
    page = staff_admin.get(f"/admin/projects/project/{project.pk}/change/")
    link = f"/api/projects/{project.pk}/export"
    assert f'href="{link}"' in page.content.decode()

    response = staff_admin.get(link)

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="project-{project.pk}-evidence.json"'
    assert evidence_verify(response.content).ok
