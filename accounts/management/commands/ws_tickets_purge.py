"""Cron: delete every user's spent and expired WebSocket tickets (issuing a ticket purges only the caller's)."""

from django.core.management.base import BaseCommand

from accounts.services import ws_tickets_purge


class Command(BaseCommand):
    help = "Delete spent and expired WebSocket tickets of all users."

    def handle(self, *args, **options):
        self.stdout.write(f"Deleted {ws_tickets_purge()} spent or expired WebSocket ticket(s).")
