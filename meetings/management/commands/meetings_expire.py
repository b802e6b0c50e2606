"""Cron: complete meetings left ACTIVE beyond MEETING_MAX_DURATION_SECONDS, their duration capped there."""

from django.conf import settings
from django.core.management.base import BaseCommand

from meetings.services import meetings_complete_overdue


class Command(BaseCommand):
    help = "Complete meetings ACTIVE for longer than MEETING_MAX_DURATION_SECONDS, ending them at that maximum."

    def handle(self, *args, **options):
        completed = meetings_complete_overdue()
        self.stdout.write(
            f"Completed {len(completed)} meeting(s) active beyond {settings.MEETING_MAX_DURATION_SECONDS} s"
            + (f": {', '.join(map(str, completed))}." if completed else ".")
        )
