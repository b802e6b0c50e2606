"""Demo data: a client, an approved provider, support staff, and one accepted project with its chat."""

from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from messaging.services import message_send
from projects import services
from projects.models import Project

DEMO_PASSWORD = "demo-pass-2026"
DEMO_TITLE = "Company website redesign"


class Command(BaseCommand):
    help = "Create demo users and one accepted project with its conversation (safe to run twice)."

    @transaction.atomic
    def handle(self, *args, **options):
        client = self._user("client", role=User.Role.CLIENT)
        provider = self._user("provider", role=User.Role.PROVIDER, provider_status=User.ProviderStatus.APPROVED)
        self._user("support", role=User.Role.CLIENT, is_staff=True, is_superuser=True)
        project = Project.objects.filter(client=client, title=DEMO_TITLE).first()
        if project is None:
            service_request = services.service_request_create(
                client=client, title=DEMO_TITLE, description="A fresh look and a faster site.", budget=Decimal("5000")
            )
            proposal = services.proposal_submit(
                provider=provider,
                request_id=service_request.pk,
                price=Decimal("4200.00"),
                scope="Design, build and launch five pages with a CMS.",
                deadline=(timezone.now() + timedelta(days=30)).date(),
                expires_at=timezone.now() + timedelta(days=7),
            )
            project = services.proposal_accept(proposal_id=proposal.pk, user=client)
            message_send(user=provider, conversation_id=project.conversation_id, content="Thanks for choosing us!")
            message_send(user=client, conversation_id=project.conversation_id, content="Looking forward to it.")
        self.stdout.write(self.style.SUCCESS(f"Demo project #{project.pk}: {project.title}"))
        self.stdout.write(f"Log in at /login with client / {DEMO_PASSWORD} or provider / {DEMO_PASSWORD}")
        self.stdout.write(f"Support staff: support / {DEMO_PASSWORD} at /admin/")

    def _user(self, username: str, **fields) -> User:
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com", **fields}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        return user
