"""Data the benchmark runs on, made through the product's own services where it is small and by
one set-based INSERT where it is big (a million messages in one conversation)."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from meetings import services as meeting_services
from messaging.models import Conversation, Message
from projects import services as project_services


@dataclass(frozen=True)
class SeededPair:
    conversation_id: int
    sender: User
    receiver: User


def token_for(user: User) -> str:
    return str(AccessToken.for_user(user))


def users_create(prefix: str, count: int, *, role: str = User.Role.CLIENT) -> list[User]:
    # One hash for all: hashing a password per user would dominate seeding and nobody logs in by password.
    password = make_password(None)
    provider_status = User.ProviderStatus.APPROVED if role == User.Role.PROVIDER else ""
    return User.objects.bulk_create(
        [
            User(
                username=f"{prefix}{index}",
                email=f"{prefix}{index}@bench.invalid",
                password=password,
                role=role,
                provider_status=provider_status,
            )
            for index in range(count)
        ]
    )


def project_accept(*, client: User, provider: User, title: str) -> Conversation:
    """The product's accept flow: request, proposal, acceptance; the conversation opens with the project."""
    service_request = project_services.service_request_create(client=client, title=title)
    proposal = project_services.proposal_submit(
        provider=provider,
        request_id=service_request.pk,
        price=Decimal("100.00"),
        scope="Benchmark",
        deadline=(timezone.now() + timedelta(days=30)).date(),
    )
    return project_services.proposal_accept(proposal_id=proposal.pk, user=client).conversation


def pairs_create(prefix: str, count: int) -> list[SeededPair]:
    senders = users_create(f"{prefix}-sender-", count)
    receivers = users_create(f"{prefix}-receiver-", count, role=User.Role.PROVIDER)
    return [
        SeededPair(project_accept(client=sender, provider=receiver, title=f"{prefix} {index}").pk, sender, receiver)
        for index, (sender, receiver) in enumerate(zip(senders, receivers, strict=True))
    ]


def user_with_conversations(count: int) -> User:
    """A client in ``count`` conversations with one provider, each holding one message, so the list has content."""
    client = users_create("lister-", 1)[0]
    provider = users_create("lister-provider-", 1, role=User.Role.PROVIDER)[0]
    conversation_ids = [
        project_accept(client=client, provider=provider, title=f"list {index}").pk for index in range(count)
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO messaging_message (conversation_id, sender_id, seq, type, content, file_name,"
            " file_content_type, created_at, chain_hash)"
            " SELECT id, %s, 1, 'text', 'Hello from conversation ' || id, '', '', now(), ''"
            " FROM unnest(%s::bigint[]) AS id",
            [provider.pk, conversation_ids],
        )
        cursor.execute(
            "UPDATE messaging_conversation c SET last_message_id = m.id, last_message_seq = 1,"
            " last_activity_at = m.created_at FROM messaging_message m"
            " WHERE m.conversation_id = c.id AND c.id = ANY(%s)",
            [conversation_ids],
        )
    return client


@dataclass(frozen=True)
class SeededHistory:
    conversation_id: int
    reader: User
    message_count: int


def history_create(count: int) -> SeededHistory:
    """One conversation with ``count`` messages, alternating senders, one second apart, by one INSERT ... SELECT."""
    client = users_create("historian-", 1)[0]
    provider = users_create("historian-provider-", 1, role=User.Role.PROVIDER)[0]
    conversation = project_accept(client=client, provider=provider, title="history")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO messaging_message (conversation_id, sender_id, seq, type, content, file_name,"
            " file_content_type, created_at, chain_hash)"
            " SELECT %(conversation)s, CASE WHEN n %% 2 = 0 THEN %(client)s ELSE %(provider)s END, n, 'text',"
            " 'History message number ' || n || ', long enough to look like a sentence someone typed.', '', '',"
            " now() - (%(count)s - n) * interval '1 second', ''"
            " FROM generate_series(1, %(count)s) AS n",
            {"conversation": conversation.pk, "client": client.pk, "provider": provider.pk, "count": count},
        )
        last = Message.objects.filter(conversation=conversation).order_by("-id").first()
        Conversation.objects.filter(pk=conversation.pk).update(
            last_message=last, last_message_seq=last.seq, last_activity_at=last.created_at
        )
    return SeededHistory(conversation.pk, client, count)


def meeting_create(pair: SeededPair) -> int:
    """An instant (ACTIVE) meeting in the pair's project, so both of them can be issued tokens."""
    project_id = Conversation.objects.values_list("project_id", flat=True).get(pk=pair.conversation_id)
    return meeting_services.meeting_create(user=pair.sender, project_id=project_id, title="bench call", instant=True).pk


def database_vacuum() -> None:
    """Leave autovacuum nothing to do during measurements, and give the planner fresh statistics."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
