"""A project's evidence bundle: everything a dispute is settled on, in one self-contained, sealed file.

What it holds: the locked terms and their hash (checked again at export), every member past and present with
when they joined and left, every message in seq order with its earlier versions (edits and deletes), each
file's name, size and SHA-256, and the meetings with their participants and when they were in the call.

How it is sealed: the bundle is canonical JSON (sorted keys, no whitespace, UTF-8), so the same data gives
the same bytes. ``digest`` is the SHA-256 of everything but ``generatedAt``, ``digest`` and ``signature``:
two exports of unchanged data have the same digest and differ only in ``generatedAt`` and the ``signature``
that seals it (an HMAC-SHA256 of both, with a key derived from ``EVIDENCE_SIGNING_KEY``, else from
``SECRET_KEY``). ``evidence_verify`` checks all three and that the file's bytes are exactly the canonical
ones, so one changed byte anywhere is found.
The ZIP variant carries the same ``bundle.json`` beside the files themselves, each checked against its hash.
"""

import hashlib
import hmac
import io
import json
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.db.models.fields.files import FieldFile
from django.http import HttpResponse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.events import user_brief_payload
from kernel.json_values import canonical_json, iso_datetime
from meetings import selectors as meeting_selectors
from meetings.models import Meeting
from messaging import events as messaging_events
from messaging import selectors as messaging_selectors
from messaging.models import Message, MessageRevision, Participant
from projects.models import Project

FORMAT = "evidence/1"
BUNDLE_NAME = "bundle.json"
_UNSEALED = ("generatedAt", "digest", "signature")
# Read in chunks: an attached file may be far larger than what a worker should hold in memory.
_CHUNK = 1024 * 1024


def _file_entry(*, field, name: str) -> dict | None:
    """A file as the bundle names it, its size and SHA-256 read from storage: both null (and no copy in the
    archive) when the row outlived its file (a storage restored without it)."""
    if not field:
        return None
    digest, size = hashlib.sha256(), 0
    try:
        with field.open("rb") as stored:
            while chunk := stored.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        return {"name": name, "size": None, "sha256": None}
    return {"name": name, "size": size, "sha256": digest.hexdigest()}


def _revision(revision: MessageRevision) -> dict:
    return {
        "change": revision.change,
        "content": revision.content,
        "file": _file_entry(field=revision.file, name=revision.file_name),
        "replacedAt": iso_datetime(revision.replaced_at),
        "replacedBy": user_brief_payload(revision.replaced_by),
        "hash": revision.chain_hash,
    }


def _message(message: Message) -> dict:
    return {
        "id": message.pk,
        "seq": message.seq,
        "type": message.type,
        "sender": None if message.sender is None else user_brief_payload(message.sender),
        "content": message.content,
        "file": _file_entry(field=message.file, name=message.file_name),
        "system": message.system,
        "createdAt": iso_datetime(message.created_at),
        "editedAt": iso_datetime(message.edited_at),
        "deletedAt": iso_datetime(message.deleted_at),
        "revisions": [_revision(revision) for revision in message.revisions.all()],
        "hash": message.chain_hash,
    }


def _meeting(meeting: Meeting) -> dict:
    return {
        "id": meeting.pk,
        "title": meeting.title,
        "agenda": meeting.agenda,
        "host": user_brief_payload(meeting.host),
        "status": meeting.status,
        "scheduledFor": iso_datetime(meeting.scheduled_for),
        "startedAt": iso_datetime(meeting.started_at),
        "endedAt": iso_datetime(meeting.ended_at),
        "durationSeconds": meeting.duration_seconds,
        "createdAt": iso_datetime(meeting.created_at),
        "participants": [
            {
                "user": user_brief_payload(participant.user),
                "status": participant.status,
                "answeredAt": iso_datetime(participant.answered_at),
                "firstJoinedAt": iso_datetime(participant.first_joined_at),
                "lastLeftAt": iso_datetime(participant.last_left_at),
            }
            for participant in meeting.participants.all()
        ],
    }


def _members(project: Project, messages: list[Message], participants: list[Participant]) -> list[dict]:
    """Everyone who has been in the project, with each stay: the owners from the project's start, the others
    from the conversation's join and leave records (system messages), then whoever is a participant now."""
    stays: dict[int, list[dict]] = {}
    users = {project.client_id: project.client, project.provider_id: project.provider}
    for owner in (project.client_id, project.provider_id):
        stays[owner] = [{"joinedAt": iso_datetime(project.created_at), "leftAt": None}]
    for message in messages:
        change = _membership_change(message)
        if change is None:
            continue
        user_id, joined = change
        periods = stays.setdefault(user_id, [])
        if joined:
            periods.append({"joinedAt": iso_datetime(message.created_at), "leftAt": None})
        elif periods and periods[-1]["leftAt"] is None:
            periods[-1]["leftAt"] = iso_datetime(message.created_at)
        else:
            periods.append({"joinedAt": None, "leftAt": iso_datetime(message.created_at)})
    for participant in participants:
        users[participant.user_id] = participant.user
        periods = stays.setdefault(participant.user_id, [])
        if not periods or periods[-1]["leftAt"] is not None:
            periods.append({"joinedAt": iso_datetime(participant.joined_at), "leftAt": None})
    for message in messages:
        if message.sender is not None:
            users.setdefault(message.sender.pk, message.sender)
    current = {participant.user_id for participant in participants}
    return [
        {
            "user": user_brief_payload(users[user_id]) if user_id in users else {"id": user_id},
            "owner": user_id in (project.client_id, project.provider_id),
            "member": user_id in current,
            "stays": periods,
        }
        for user_id, periods in sorted(stays.items())
    ]


# The system message kinds that record a member joining or leaving (their ``userId`` names the member).
MEMBERSHIP_KINDS = {messaging_events.SYSTEM_MEMBER_JOINED: True, messaging_events.SYSTEM_MEMBER_LEFT: False}


def _membership_change(message: Message) -> tuple[int, bool] | None:
    if message.type != Message.Type.SYSTEM or not message.system:
        return None
    joined = MEMBERSHIP_KINDS.get(message.system.get("kind"))
    user_id = message.system.get("userId")
    if joined is None or user_id is None:
        return None
    return user_id, joined


def _conversation_id(project: Project) -> int:
    return project.conversation_id  # type: ignore[attr-defined]  # annotated by projects.selectors


def _bundle(project: Project, messages: list[Message]) -> dict:
    """The project's evidence, unsealed, with ``messages`` its conversation's record. ``project`` comes with its
    ``conversation_id`` (projects.selectors)."""
    conversation_id = _conversation_id(project)
    participants = messaging_selectors.conversation_participants(conversation_id=conversation_id)
    meetings = meeting_selectors.meeting_list_for_project(project_id=project.pk)
    return {
        "format": FORMAT,
        "project": {
            "id": project.pk,
            "publicId": str(project.public_id),
            "title": project.title,
            "status": project.status,
            "createdAt": iso_datetime(project.created_at),
            "client": user_brief_payload(project.client),
            "provider": user_brief_payload(project.provider),
            "terms": project.terms_snapshot,
            "termsHash": project.terms_hash,
            "termsHashMatches": project.terms_verify(),
        },
        "members": _members(project, messages, participants),
        # The conversation's hash chain (docs/record.md) as verified at export: null, or where it breaks.
        "recordBreak": _record_break(conversation_id),
        "messages": [_message(message) for message in messages],
        "meetings": [_meeting(meeting) for meeting in meetings],
    }


def _record_break(conversation_id: int) -> str | None:
    chain_break = messaging_selectors.conversation_chain_verify(conversation_id=conversation_id)
    return None if chain_break is None else str(chain_break)


def _digest(bundle: dict) -> str:
    body = {key: value for key, value in bundle.items() if key not in _UNSEALED}
    return "sha256:" + hashlib.sha256(canonical_json(body)).hexdigest()


def _signature(*, digest: str, generated_at: str) -> str:
    # A key of its own derived from the secret (the salt keeps it apart from every other use of the secret).
    secret = settings.EVIDENCE_SIGNING_KEY or settings.SECRET_KEY
    sealed = salted_hmac("projects.evidence", f"{digest}\n{generated_at}", secret=secret, algorithm="sha256")
    return "hmac-sha256:" + sealed.hexdigest()


def _record(project: Project) -> list[Message]:
    return messaging_selectors.conversation_record(conversation_id=_conversation_id(project))


def _sealed(bundle: dict) -> bytes:
    """``bundle`` as the file an export serves: canonical JSON, digested and signed."""
    bundle["generatedAt"] = iso_datetime(timezone.now())
    bundle["digest"] = _digest(bundle)
    bundle["signature"] = _signature(digest=bundle["digest"], generated_at=bundle["generatedAt"])
    return canonical_json(bundle)


def evidence_download(*, project: Project) -> HttpResponse:
    """The sealed bundle as a download: what the API's export answers (the admin links to it)."""
    response = HttpResponse(_sealed(_bundle(project, _record(project))), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{download_name(project)}.json"'
    return response


def download_name(project: Project) -> str:
    return f"project-{project.pk}-evidence"


def evidence_zip(*, project: Project, into: IO[bytes]) -> None:
    """Writes to ``into`` an archive of ``bundle.json`` and beside it every file the bundle names (messages'
    and revisions'), under ``files/<seq>/`` (``files/<seq>/revisions/<n>/`` for a replaced one)."""
    messages = _record(project)
    bundle = _bundle(project, messages)
    # Every file field by (seq, revision number); the bundle names with a hash those that are stored.
    fields: dict[tuple[int, int | None], FieldFile] = {(message.seq, None): message.file for message in messages}
    for message in messages:
        for number, revision in enumerate(message.revisions.all(), start=1):
            fields[message.seq, number] = revision.file
    with zipfile.ZipFile(into, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(BUNDLE_NAME, _sealed(bundle))
        for file in _bundled_files(bundle):
            with fields[file.seq, file.revision].open("rb") as stored, archive.open(file.path, "w") as packed:
                while chunk := stored.read(_CHUNK):
                    packed.write(chunk)


def _archive_path(seq: int, name: str, *, revision: int | None = None) -> str:
    safe_name = name.replace("/", "_").replace("\\", "_") or "file"
    if revision is None:
        return f"files/{seq}/{safe_name}"
    return f"files/{seq}/revisions/{revision}/{safe_name}"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    problem: str = ""


def evidence_verify(data: bytes) -> Verdict:
    """Whether ``data`` (an export's JSON or ZIP file) is exactly what the server exported."""
    if data[:4] == b"PK\x03\x04":
        return _verify_zip(data)
    return _verify_bundle(data)[0]


def _verify_bundle(data: bytes) -> tuple[Verdict, dict | None]:
    try:
        bundle = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return Verdict(False, "not a JSON document"), None
    if not isinstance(bundle, dict) or any(key not in bundle for key in _UNSEALED):
        return Verdict(False, "not an evidence bundle"), None
    if canonical_json(bundle) != data:
        return Verdict(False, "not the exported bytes: the file was reformatted or changed"), None
    if not hmac.compare_digest(bundle["digest"], _digest(bundle)):
        return Verdict(False, "the content does not match its digest"), None
    expected = _signature(digest=bundle["digest"], generated_at=bundle["generatedAt"])
    if not hmac.compare_digest(bundle["signature"], expected):
        return Verdict(False, "the signature does not match: not sealed by this server, or changed"), None
    return Verdict(True), bundle


def _verify_zip(data: bytes) -> Verdict:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        if BUNDLE_NAME not in names:
            return Verdict(False, f"no {BUNDLE_NAME} in the archive")
        verdict, bundle = _verify_bundle(archive.read(BUNDLE_NAME))
        if bundle is None:
            return verdict
        expected = {file.path: file.sha256 for file in _bundled_files(bundle)}
        if names - {BUNDLE_NAME} != set(expected):
            return Verdict(False, "the archive's files are not the ones the bundle names")
        for path, sha256 in expected.items():
            if hashlib.sha256(archive.read(path)).hexdigest() != sha256:
                return Verdict(False, f"{path} does not match its SHA-256 in the bundle")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError) as error:
        return Verdict(False, f"not a readable ZIP archive ({error})")
    return Verdict(True)


@dataclass(frozen=True)
class _BundledFile:
    seq: int
    revision: int | None
    path: str
    sha256: str


def _bundled_files(bundle: dict):
    """The files a ZIP export carries: those the bundle names with a hash (the ones stored at export)."""
    for message in bundle["messages"]:
        versions = [(None, message["file"])] + list(enumerate((r["file"] for r in message["revisions"]), start=1))
        for revision, file in versions:
            if file and file["sha256"]:
                path = _archive_path(message["seq"], file["name"], revision=revision)
                yield _BundledFile(seq=message["seq"], revision=revision, path=path, sha256=file["sha256"])
