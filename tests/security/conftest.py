"""Two projects side by side for the authorization matrix: ours (alice the client, bob the provider, with
cleo on alice's side and piet on bob's as teammates) and the outsider's (charlie the client, dora the
provider), each with a conversation holding a text and a file message, a pending and a running meeting; ours
also has an open request and a live proposal. Every piece of data carries a marker string, so a response can
be searched for data its caller must not see."""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from accounts.models import User
from integrations import services as integration_services
from integrations.models import Endpoint
from meetings import services as meeting_services
from meetings.models import Meeting
from messaging import services as messaging_services
from messaging.models import Conversation, Message
from moderation import services as moderation_services
from projects import services as project_services
from projects.models import Project, Proposal, ServiceRequest
from tests.conftest import PASSWORD, make_project, make_user
from tests.meetings.conftest import agora_configured  # noqa: F401
from tests.messaging.conftest import fresh_throttle_counts  # noqa: F401

PERSONAS = ("anonymous", "outsider", "client", "provider", "client_teammate", "provider_teammate", "staff")
# A public address (no name to resolve): the matrix registers and tests endpoints, the worker never posts to them.
PUBLIC_WEBHOOK_URL = "https://93.184.215.14/hooks"


@dataclass
class Side:
    """One project with everything in it, and the markers of what only its members may read."""

    # The owners, then the teammates they added.
    members: tuple[User, ...]
    project: Project
    conversation: Conversation
    text_message: Message
    file_message: Message
    pending_meeting: Meeting
    # A second invitation, for where one answer must not stand in the way of the other.
    second_pending_meeting: Meeting
    active_meeting: Meeting
    # The deal (request, proposal terms) is also support staff's to read; the collaboration is not.
    deal_markers: list[str] = field(default_factory=list)
    collaboration_markers: list[str] = field(default_factory=list)


@dataclass
class World:
    personas: dict[str, User | None]
    ours: Side
    theirs: Side
    open_request: ServiceRequest
    proposal: Proposal
    pending_provider: User
    # A client and an approved provider on no project, whom our owners may add to their sides.
    candidates: tuple[User, User]
    users: list[User]
    webhook_endpoint: Endpoint

    def forbidden_for(self, persona: str) -> list[str]:
        """Strings that must not appear in any answer to ``persona``: other users' secrets always,
        and the markers, usernames and emails of every project the persona is not a member of."""
        user = self.personas[persona]
        # A webhook endpoint's secret is shown once, in the answer that created it.
        forbidden = [PASSWORD, self.webhook_endpoint.secret, *(other.password for other in self.users)]
        if user is not None and user.is_staff:
            return forbidden + [marker for side in (self.ours, self.theirs) for marker in side.collaboration_markers]
        own_sides = [side for side in (self.ours, self.theirs) if user in side.members]
        for side in (self.ours, self.theirs):
            if side not in own_sides:
                forbidden += side.deal_markers + side.collaboration_markers
        visible = {member.pk for side in own_sides for member in side.members} | ({user.pk} if user else set())
        if self.ours in own_sides:
            # Added by our owners, they are our members' to see.
            visible |= {candidate.pk for candidate in self.candidates}
        # Quoted, as JSON and the pages' embedded JSON carry them, so a short name cannot match by chance.
        forbidden += [f'"{other.username}"' for other in self.users if other.pk not in visible]
        forbidden += [other.email for other in self.users if user is None or other.pk != user.pk]
        return forbidden


def _side(tag: str, client: User, provider: User, teammates: tuple[User, ...] = ()) -> Side:
    project = make_project(client, provider, title=f"{tag}-project-title")
    for teammate in teammates:
        owner = provider if teammate.role == User.Role.PROVIDER else client
        project_services.project_member_add(project_id=project.pk, user_id=teammate.pk, by=owner)
    conversation_id = project.conversation.pk
    text_message = messaging_services.message_send(
        user=client, conversation_id=conversation_id, content=f"{tag}-text-content", client_message_id=uuid.uuid4()
    ).message
    file_message = messaging_services.message_send(
        user=provider,
        conversation_id=conversation_id,
        content="",
        type=Message.Type.FILE,
        client_message_id=uuid.uuid4(),
        upload=SimpleUploadedFile(f"{tag}-file-name.pdf", f"{tag}-file-bytes".encode(), "application/pdf"),
    ).message
    pending_meeting = meeting_services.meeting_create(
        user=client, project_id=project.pk, title=f"{tag}-pending-meeting", agenda=f"{tag}-agenda"
    )
    second_pending_meeting = meeting_services.meeting_create(
        user=client, project_id=project.pk, title=f"{tag}-second-pending-meeting"
    )
    active_meeting = meeting_services.meeting_create(
        user=client, project_id=project.pk, title=f"{tag}-active-meeting", instant=True
    )
    # The provider's report of the client's message: the reporter's and staff's in the admin, no one else's.
    report = moderation_services.report_create(
        user=provider, message_id=text_message.pk, reason="other", details=f"{tag}-report-details"
    ).report
    return Side(
        members=(client, provider, *teammates),
        project=project,
        conversation=project.conversation,
        text_message=text_message,
        file_message=file_message,
        pending_meeting=pending_meeting,
        second_pending_meeting=second_pending_meeting,
        active_meeting=active_meeting,
        deal_markers=[project.title, project.terms_hash],
        collaboration_markers=[
            str(project.public_id),
            text_message.content,
            str(text_message.client_message_id),
            file_message.file_name,
            file_message.file.name,
            f"{tag}-file-bytes",
            str(file_message.client_message_id),
            pending_meeting.title,
            pending_meeting.agenda,
            second_pending_meeting.title,
            active_meeting.title,
            pending_meeting.channel_name,
            active_meeting.channel_name,
            report.details,
        ],
    )


def build_world(
    *, client_user: User, provider: User, client_teammate: User, provider_teammate: User, outsider: User, staff: User
) -> World:
    ours = _side("ours", client_user, provider, (client_teammate, provider_teammate))
    theirs = _side("theirs", outsider, make_user("dora", role=User.Role.PROVIDER))
    open_request = project_services.service_request_create(
        client=client_user, title="ours-open-request", description="ours-open-request-description"
    )
    proposed_request = project_services.service_request_create(client=client_user, title="ours-proposed-request")
    proposal = project_services.proposal_submit(
        provider=provider,
        request_id=proposed_request.pk,
        price=Decimal("900.00"),
        scope="ours-proposal-scope",
        deadline=(timezone.now() + timedelta(days=10)).date(),
    )
    pending_provider = make_user("frank", role=User.Role.PROVIDER, provider_status=User.ProviderStatus.PENDING)
    ours.deal_markers += [
        open_request.title,
        open_request.description,
        proposed_request.title,
        proposal.scope,
        proposal.terms_hash,
    ]
    return World(
        personas={
            "anonymous": None,
            "outsider": outsider,
            "client": client_user,
            "provider": provider,
            "client_teammate": client_teammate,
            "provider_teammate": provider_teammate,
            "staff": staff,
        },
        ours=ours,
        theirs=theirs,
        open_request=open_request,
        proposal=proposal,
        pending_provider=pending_provider,
        candidates=(make_user("gina"), make_user("hugo", role=User.Role.PROVIDER)),
        users=list(User.objects.all()),
        webhook_endpoint=integration_services.endpoint_create(
            url=PUBLIC_WEBHOOK_URL, events=["*"], description="matrix", by=staff
        ),
    )


@pytest.fixture
def world(client_user, provider, client_teammate, provider_teammate, outsider, staff, settings, tmp_path) -> World:
    """A world of the test's own, on the shared personas (committed when the test is transactional)."""
    settings.MEDIA_ROOT = tmp_path
    return build_world(
        client_user=client_user,
        provider=provider,
        client_teammate=client_teammate,
        provider_teammate=provider_teammate,
        outsider=outsider,
        staff=staff,
    )


def _world_of_the_personas() -> World:
    """The personas of tests/conftest.py, made here because its fixtures live one test long."""
    return build_world(
        client_user=make_user("alice", role=User.Role.CLIENT),
        provider=make_user("bob", role=User.Role.PROVIDER),
        client_teammate=make_user("cleo", role=User.Role.CLIENT),
        provider_teammate=make_user("piet", role=User.Role.PROVIDER),
        outsider=make_user("charlie", role=User.Role.CLIENT),
        staff=make_user("support", role=User.Role.CLIENT, is_staff=True),
    )


@pytest.fixture(scope="class")
def shared_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """One world for a class of non-transactional tests, built in a transaction that each test's own
    nests in and that is rolled back after the class: Django's setUpTestData, for pytest."""
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")),
        transaction.atomic(),
    ):
        yield _world_of_the_personas()
        transaction.set_rollback(True)


@pytest.fixture(scope="class")
def committed_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """One committed world for a class of socket tests, whose consumers read it from another thread.

    What a test writes stays, so each writes only what no other test's answer depends on; after the
    class the database is flushed, as a transactional test flushes it after itself.
    """
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")),
    ):
        try:
            yield _world_of_the_personas()
        finally:
            call_command("flush", interactive=False, verbosity=0)
