"""System messages (issue 16): a message of type ``system`` has no sender and its event in ``system``; the
database holds "system if and only if no sender", and a partial index finds a conversation's system messages
by seq for the unread count. Existing rows are all text or file messages with a sender, so both checks hold."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="message",
            name="message_has_body",
        ),
        migrations.AddField(
            model_name="message",
            name="system",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="message",
            name="sender",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="messages",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="message",
            name="type",
            field=models.CharField(
                choices=[("text", "Text"), ("file", "File"), ("system", "System")], default="text", max_length=8
            ),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("type", "system")), fields=["conversation", "seq"], name="message_system_seq_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("type", "text"), models.Q(("content", ""), _negated=True)),
                    models.Q(("type", "file"), models.Q(("file", ""), _negated=True)),
                    models.Q(("type", "system"), models.Q(("content", ""), _negated=True), ("system__isnull", False)),
                    _connector="OR",
                ),
                name="message_has_body",
            ),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("type", "system"), ("sender__isnull", True)),
                    models.Q(models.Q(("type", "system"), _negated=True), ("sender__isnull", False)),
                    _connector="OR",
                ),
                name="message_system_iff_no_sender",
            ),
        ),
    ]
