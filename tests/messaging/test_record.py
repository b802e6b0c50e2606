"""The conversation record's hash chain (messaging.chain): every send path, edit, delete and system message
links it; the verifier finds the first changed or missing link; PostgreSQL refuses changes around the paths."""

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from messaging import chain, services
from messaging.models import Conversation, Message, MessageRevision
from messaging.selectors import ChainBreak, conversation_chain_verify
from tests.conftest import requires_postgres

pytestmark = pytest.mark.django_db


def _verify(conversation) -> ChainBreak | None:
    return conversation_chain_verify(conversation_id=conversation.pk)


def _tamper(sql: str, params: list) -> None:
    """Change rows as someone with the database's superuser keys would: on PostgreSQL, with triggers off until
    the end of the test's transaction."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)


def _refused(sql: str, params: list) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except IntegrityError:
        return True
    return False


@pytest.fixture
def history(api, client_user, provider, conversation, send):
    """A conversation through every writer: the API's send (PostgreSQL's one-statement path there), the service's,
    a file, a system message, an edit twice over and deletes of a text and of a file message."""
    for n in range(3):
        response = api.as_user(client_user).post(
            "/api/messages", {"conversationId": conversation.pk, "content": f"api {n}"}, format="json"
        )
        assert response.status_code == 201
    edited = send(provider, conversation, "helo", client_message_id=uuid.uuid4())
    upload = SimpleUploadedFile("brief.pdf", b"%PDF-1.4 brief", "application/pdf")
    filed = send(provider, conversation, "the brief", type=Message.Type.FILE, upload=upload)
    services.system_message_post(
        project_id=conversation.project_id, kind="project.completed", data={"by": "staff"}, content="Project done"
    )
    withdrawn = send(client_user, conversation, "oops ünïcode ✓")
    services.message_edit(user=provider, message_id=edited.pk, content="hello")
    services.message_edit(user=provider, message_id=edited.pk, content="hello there")
    services.message_delete(user=client_user, message_id=withdrawn.pk)
    services.message_delete(user=provider, message_id=filed.pk)
    send(client_user, conversation, "after the changes")
    return {"edited": edited, "filed": filed, "withdrawn": withdrawn}


def test_every_writer_links_the_chain_and_it_verifies(history, conversation):
    assert _verify(conversation) is None
    conversation.refresh_from_db()
    newest = Message.objects.filter(conversation=conversation).order_by("-seq").first()
    assert conversation.chain_head == newest.chain_hash != chain.GENESIS
    assert MessageRevision.objects.filter(chain_hash="").count() == 0


def test_system_messages_are_links(conversation, client_user, send):
    send(client_user, conversation, "before")
    system = services.system_message_post(
        project_id=conversation.project_id, kind="meeting.started", data={"meetingId": 7}, content="Call started"
    )
    conversation.refresh_from_db()

    assert conversation.chain_head == system.chain_hash
    assert _verify(conversation) is None


def test_a_conversation_without_messages_verifies(conversation):
    assert _verify(conversation) is None


def test_a_link_is_the_hash_of_the_previous_one_and_the_canonical_record(conversation, client_user, send):
    message = send(client_user, conversation, "héllo")
    record = chain.message_record(Message.objects.get(pk=message.pk))

    assert chain.canonical_json(record).startswith(b'{"clientMessageId":null,"content":"h\xc3\xa9llo",')
    assert record["createdAt"].endswith("Z") and len(record["createdAt"]) == len("2026-12-01T06:05:00.123456Z")
    assert message.chain_hash == chain.link_hash(chain.GENESIS, record)


# ---- what the verifier finds --------------------------------------------------------------------------


def test_a_changed_content_is_found_at_its_seq(history, conversation):
    second = Message.objects.get(conversation=conversation, seq=2)
    _tamper("UPDATE messaging_message SET content = %s WHERE id = %s", ["api 2, or so", second.pk])

    assert _verify(conversation) == ChainBreak(
        seq=2, kind="message", id=second.pk, reason="the record does not match its hash"
    )


def test_a_changed_content_of_an_edited_message_is_found_at_its_last_edit(history, conversation):
    edited = history["edited"]
    _tamper("UPDATE messaging_message SET content = %s WHERE id = %s", ["hello, forged", edited.pk])

    broken = _verify(conversation)

    assert (broken.seq, broken.kind, broken.id) == (edited.seq, "edited", edited.revisions.last().pk)


def test_a_changed_revision_is_found_at_the_link_that_covered_that_version(history, conversation):
    edited = history["edited"]
    first = edited.revisions.first()
    _tamper("UPDATE messaging_messagerevision SET content = %s WHERE id = %s", ["forged original", first.pk])

    broken = _verify(conversation)

    assert (broken.seq, broken.kind, broken.id) == (edited.seq, "message", edited.pk)


def test_a_restored_tombstone_is_found(history, conversation):
    withdrawn = history["withdrawn"]
    _tamper(
        "UPDATE messaging_message SET content = %s, deleted_at = NULL WHERE id = %s", ["oops ünïcode ✓", withdrawn.pk]
    )

    broken = _verify(conversation)

    assert (broken.seq, broken.kind) == (withdrawn.seq, "deleted")


def test_a_removed_message_is_found_missing_at_its_seq(history, conversation):
    third = Message.objects.get(conversation=conversation, seq=3)
    _tamper("DELETE FROM messaging_message WHERE id = %s", [third.pk])

    assert _verify(conversation) == ChainBreak(seq=3, kind="message", id=None, reason="the message is missing")


def test_a_cut_off_tail_is_found_at_the_head(history, conversation):
    conversation.refresh_from_db()
    newest = Message.objects.get(conversation=conversation, seq=conversation.last_message_seq)
    before = Message.objects.get(conversation=conversation, seq=newest.seq - 1)
    _tamper("UPDATE messaging_participant SET last_read_message_id = NULL WHERE last_read_message_id = %s", [newest.pk])
    _tamper(
        "UPDATE messaging_conversation SET last_message_id = %s, last_message_seq = %s WHERE id = %s",
        [before.pk, before.seq, conversation.pk],
    )
    _tamper("DELETE FROM messaging_message WHERE id = %s", [newest.pk])

    assert _verify(conversation) == ChainBreak(
        seq=before.seq, kind="head", id=conversation.pk, reason="the chain does not end at the conversation's head"
    )


def test_a_rewritten_head_is_found(history, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(chain_head="f" * 64)

    assert _verify(conversation).kind == "head"


# ---- what PostgreSQL refuses --------------------------------------------------------------------------


def test_a_raw_content_change_is_refused_on_postgresql(history, conversation):
    requires_postgres()
    second = Message.objects.get(conversation=conversation, seq=2)

    assert _refused("UPDATE messaging_message SET content = 'forged' WHERE id = %s", [second.pk])
    assert _refused("UPDATE messaging_message SET created_at = now() WHERE id = %s", [second.pk])
    assert _refused("DELETE FROM messaging_message WHERE id = %s", [second.pk])
    assert _verify(conversation) is None


def test_a_content_change_with_a_revision_that_is_not_the_chains_head_is_refused(history, conversation, client_user):
    requires_postgres()
    second = Message.objects.get(conversation=conversation, seq=2)
    MessageRevision.objects.create(
        message=second, content=second.content, change="edited", replaced_at=timezone.now(), replaced_by=client_user
    )

    assert _refused("UPDATE messaging_message SET content = 'forged', edited_at = now() WHERE id = %s", [second.pk])


def test_revisions_never_change_on_postgresql(history):
    requires_postgres()
    revision = history["edited"].revisions.first()

    assert _refused("UPDATE messaging_messagerevision SET content = 'forged' WHERE id = %s", [revision.pk])
    assert _refused("DELETE FROM messaging_messagerevision WHERE id = %s", [revision.pk])


def test_a_conversation_with_messages_cannot_be_deleted_on_postgresql(history, conversation):
    # Django's cascade is DELETE statements of its own: the record outlives any deletion (the admin offers none).
    requires_postgres()

    with pytest.raises(IntegrityError), transaction.atomic():
        Conversation.objects.filter(pk=conversation.pk).delete()


# ---- manage.py verify_conversation and the admin ------------------------------------------------------


def test_the_command_says_a_record_verifies(history, conversation, capsys):
    call_command("verify_conversation", conversation.pk)

    assert capsys.readouterr().out == f"Conversation {conversation.pk} verifies.\n"


def test_the_command_fails_with_the_first_broken_link(history, conversation):
    second = Message.objects.get(conversation=conversation, seq=2)
    _tamper("UPDATE messaging_message SET content = 'forged' WHERE id = %s", [second.pk])

    with pytest.raises(CommandError, match=rf"first broken link message #{second.pk} at seq 2") as failed:
        call_command("verify_conversation", conversation.pk)
    assert failed.value.returncode == 1


def test_the_command_refuses_an_unknown_conversation():
    with pytest.raises(CommandError, match="No such conversation"):
        call_command("verify_conversation", 987654)


def test_the_admin_page_and_action_verify_the_record(staff_admin, history, conversation):
    page = staff_admin.get(reverse("admin:messaging_conversation_change", args=[conversation.pk]))
    assert "Verifies" in page.content.decode()

    second = Message.objects.get(conversation=conversation, seq=2)
    _tamper("UPDATE messaging_message SET content = 'forged' WHERE id = %s", [second.pk])
    response = staff_admin.post(
        reverse("admin:messaging_conversation_changelist"),
        {"action": "verify_records", "_selected_action": [conversation.pk]},
        follow=True,
    )

    assert f"first broken link message #{second.pk} at seq 2" in response.content.decode()


# ---- at scale -----------------------------------------------------------------------------------------


def _sent_in_bulk(conversation, senders, count: int) -> list[Message]:
    """``count`` text messages linked as every send links one (``chain.message_seal`` after the head read under
    the conversation's lock), inserted in one statement: 10,000 sends' own statements would take minutes."""
    with transaction.atomic():
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        head, now = locked.chain_head, timezone.now()
        messages = []
        for seq in range(locked.last_message_seq + 1, locked.last_message_seq + count + 1):
            message = Message(
                conversation=locked,
                sender=senders[seq % 2],
                seq=seq,
                content=f'message number {seq}: ünïcode, "quotes", \\ and\nlines',
                created_at=now,
            )
            head = chain.message_seal(message, head=head)
            messages.append(message)
        Message.objects.bulk_create(messages)
        Conversation.objects.filter(pk=locked.pk).update(
            last_message=messages[-1], last_message_seq=messages[-1].seq, chain_head=head
        )
    return messages


@pytest.mark.slow
def test_ten_thousand_messages_with_edits_and_deletes_verify(api, client_user, provider, conversation):
    senders = (client_user, provider)
    for round in range(100):
        messages = _sent_in_bulk(conversation, senders, 99)
        for message in messages[:3]:
            services.message_edit(user=message.sender, message_id=message.pk, content=f"{message.content}, edited")
        for message in messages[2:4]:  # an edited message and one as sent
            services.message_delete(user=message.sender, message_id=message.pk)
        if round % 10 == 0:
            services.system_message_post(
                project_id=conversation.project_id, kind="meeting.started", data={"meetingId": round}, content="Call"
            )
        response = api.as_user(client_user).post(
            "/api/messages", {"conversationId": conversation.pk, "content": f"round {round}"}, format="json"
        )
        assert response.status_code == 201

    conversation.refresh_from_db()
    assert conversation.last_message_seq == 100 * 100 + 10
    assert MessageRevision.objects.filter(message__conversation=conversation).count() == 100 * 5
    assert _verify(conversation) is None

    tampered = Message.objects.get(conversation=conversation, seq=7_777)
    _tamper("UPDATE messaging_message SET content = 'forged' WHERE id = %s", [tampered.pk])
    assert (_verify(conversation).seq, _verify(conversation).kind) == (7_777, "message")
