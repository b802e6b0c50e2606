"""The conversation record's hash chain (issue 19, messaging.chain): each message's and each change's link,
the conversation's head; the history written before it chained as it stands; on PostgreSQL, triggers that
refuse any UPDATE or DELETE of a message except the edit and delete paths' change, and any of a revision.

The DELETE refusal covers Django's cascades too (they are DELETE statements): a conversation with messages
cannot be deleted, as the admin already never offers; its project protects it in turn.
"""

import bisect

import django.utils.timezone
from django.db import migrations, models

from messaging import chain

# A message's body (what the edit and delete paths write) may change only together with a revision of it that
# kept exactly the version being replaced, is the conversation's newest link (the path moves the head first),
# and is dated with the edit or delete being written. Everything else of a message never changes.
CREATE = """
CREATE OR REPLACE FUNCTION messaging_message_recorded() RETURNS trigger AS $$
DECLARE
    kept messaging_messagerevision%ROWTYPE;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'message % is part of its conversation''s record and is never deleted', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id
       OR NEW.conversation_id IS DISTINCT FROM OLD.conversation_id
       OR NEW.sender_id IS DISTINCT FROM OLD.sender_id
       OR NEW.seq IS DISTINCT FROM OLD.seq
       OR NEW.type IS DISTINCT FROM OLD.type
       OR NEW.system::text IS DISTINCT FROM OLD.system::text
       OR NEW.client_message_id IS DISTINCT FROM OLD.client_message_id
       OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR NEW.chain_hash IS DISTINCT FROM OLD.chain_hash THEN
        RAISE EXCEPTION 'message % is part of its conversation''s record: only its edit or delete changes it', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF (NEW.content, NEW.file, NEW.file_name, NEW.file_size, NEW.file_content_type, NEW.edited_at, NEW.deleted_at)
       IS DISTINCT FROM
       (OLD.content, OLD.file, OLD.file_name, OLD.file_size, OLD.file_content_type, OLD.edited_at, OLD.deleted_at) THEN
        SELECT * INTO kept FROM messaging_messagerevision WHERE message_id = OLD.id ORDER BY id DESC LIMIT 1;
        IF NOT FOUND
           OR (kept.content, kept.file, kept.file_name, kept.file_size, kept.file_content_type)
              IS DISTINCT FROM (OLD.content, COALESCE(OLD.file, ''), OLD.file_name, OLD.file_size, OLD.file_content_type)
           OR kept.chain_hash IS DISTINCT FROM
              (SELECT chain_head FROM messaging_conversation WHERE id = OLD.conversation_id)
           OR kept.replaced_at IS DISTINCT FROM
              (CASE kept.change WHEN 'deleted' THEN NEW.deleted_at ELSE NEW.edited_at END)
           OR kept.replaced_at IS NOT DISTINCT FROM
              (CASE kept.change WHEN 'deleted' THEN OLD.deleted_at ELSE OLD.edited_at END) THEN
            RAISE EXCEPTION 'message % changes only through its edit or delete, with the revision it keeps', OLD.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER messaging_message_recorded
BEFORE UPDATE OR DELETE ON messaging_message
FOR EACH ROW EXECUTE FUNCTION messaging_message_recorded();

CREATE OR REPLACE FUNCTION messaging_messagerevision_recorded() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'revision % is part of its conversation''s record and never changes', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER messaging_messagerevision_recorded
BEFORE UPDATE OR DELETE ON messaging_messagerevision
FOR EACH ROW EXECUTE FUNCTION messaging_messagerevision_recorded();
"""

DROP = """
DROP TRIGGER IF EXISTS messaging_message_recorded ON messaging_message;
DROP FUNCTION IF EXISTS messaging_message_recorded();
DROP TRIGGER IF EXISTS messaging_messagerevision_recorded ON messaging_messagerevision;
DROP FUNCTION IF EXISTS messaging_messagerevision_recorded();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)  # the SQL has literal % signs

    return run


def chain_existing(apps, schema_editor):
    """Chain the history written before this migration as it stands: from now on it is attested. Each revision
    is placed after the newest message sent before it was made (when its change was written)."""
    Conversation = apps.get_model("messaging", "Conversation")
    Message = apps.get_model("messaging", "Message")
    MessageRevision = apps.get_model("messaging", "MessageRevision")
    for conversation in Conversation.objects.filter(last_message_seq__gt=0).iterator():
        messages = list(Message.objects.filter(conversation=conversation).order_by("seq"))
        sent_at = [message.created_at for message in messages]
        seq_of = {message.pk: message.seq for message in messages}
        revisions = list(MessageRevision.objects.filter(message__conversation=conversation).order_by("id"))
        for revision in revisions:
            newest_before = bisect.bisect_right(sent_at, revision.replaced_at)
            revision.chain_after_seq = max(
                messages[newest_before - 1].seq if newest_before else 0, seq_of[revision.message_id]
            )
        revisions.sort(key=lambda revision: (revision.chain_after_seq, revision.pk))
        head = chain.GENESIS
        for link in chain.conversation_links(messages, revisions):
            head = link.row.chain_hash = chain.link_hash(head, link.record)
        Message.objects.bulk_update(messages, ["chain_hash"], batch_size=1000)
        MessageRevision.objects.bulk_update(revisions, ["chain_after_seq", "chain_hash"], batch_size=1000)
        Conversation.objects.filter(pk=conversation.pk).update(chain_head=head)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0004_message_search"),
    ]

    operations = [
        migrations.AddField(
            model_name="conversation",
            name="chain_head",
            field=models.CharField(
                default="0000000000000000000000000000000000000000000000000000000000000000", max_length=64
            ),
        ),
        migrations.AddField(
            model_name="message",
            name="chain_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="messagerevision",
            name="chain_after_seq",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="messagerevision",
            name="chain_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="messagerevision",
            name="file_content_type",
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name="messagerevision",
            name="file_size",
            field=models.PositiveBigIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="message",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP)),
    ]
