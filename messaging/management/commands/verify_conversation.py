"""``manage.py verify_conversation ID``: rehash a conversation's record and say where it breaks, if it does."""

from django.core.management.base import BaseCommand, CommandError

from kernel.errors import NotFound
from messaging.selectors import conversation_chain_verify


class Command(BaseCommand):
    help = (
        "Verify the hash chain of a conversation's messages, edits and deletes (docs/record.md); "
        "exit status 1 with the first broken link when it does not verify."
    )

    def add_arguments(self, parser):
        parser.add_argument("conversation_id", type=int)

    def handle(self, *args, conversation_id: int, **options):
        try:
            broken = conversation_chain_verify(conversation_id=conversation_id)
        except NotFound as missing:
            raise CommandError(f"Conversation {conversation_id}: {missing}") from None
        if broken is not None:
            raise CommandError(f"Conversation {conversation_id} does not verify: first broken link {broken}.")
        self.stdout.write(f"Conversation {conversation_id} verifies.")
