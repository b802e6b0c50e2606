"""Writes of the notifications module: a user's email preference, changed by its owner or by an email's
one-click unsubscribe link; and the notifications the worker schedules, claims, sends and records
(docs/notifications.md)."""

import logging
import smtplib
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from accounts import selectors as account_selectors
from integrations import claims
from integrations import events as integration_events
from integrations.models import Event
from kernel.contact_review import HIDDEN_FROM_RECIPIENTS, Review
from kernel.errors import Invalid, UnsubscribeLinkInvalid
from meetings import events as meeting_events
from meetings import selectors as meeting_selectors
from meetings.models import InvitationStatus, Meeting, MeetingStatus
from messaging import selectors as message_selectors
from moderation import selectors as moderation_selectors
from notifications import emails, selectors
from notifications.models import EmailFrequency, Notification, NotificationPreference
from notifications.tokens import unsubscribe_token_user_id
from presence.selectors import users_online
from projects import selectors as project_selectors
from realtime.events import user_group
from realtime.publish import publish_now

logger = logging.getLogger(__name__)

# An email lists at most this many messages of a conversation (the latest); the rest are on the site.
MESSAGES_PER_EMAIL = 50


def time_zone_require_known(name: str) -> str:
    """``name`` if it is an IANA time zone this server knows ("Europe/Berlin", "UTC"), else 400 on the field."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(
            f"{name!r} is not a known time zone (an IANA name like Europe/Berlin).", field="timeZone"
        ) from None
    return name


@transaction.atomic
def preference_update(
    *, user, email: str | None = None, daily_digest_time: time | None = None, time_zone: str | None = None
) -> NotificationPreference:
    """Change what is given, keep the rest; the first change writes the user's row.

    ``update_or_create`` locks an existing row, and the one-row-per-user constraint turns two first changes
    at once into a create and an update, never two rows.
    """
    changes: dict[str, object] = {}
    if email is not None:
        if email not in EmailFrequency.values:
            raise Invalid(f"email must be one of {', '.join(EmailFrequency.values)}.", field="email")
        changes["email"] = email
    if daily_digest_time is not None:
        changes["daily_digest_time"] = daily_digest_time.replace(second=0, microsecond=0, tzinfo=None)
    if time_zone is not None:
        changes["time_zone"] = time_zone_require_known(time_zone)
    preference, _ = NotificationPreference.objects.update_or_create(user=user, defaults=changes)
    return preference


def preference_unsubscribe(*, token: str) -> NotificationPreference:
    """Turn email off for the user an unsubscribe link was made for, with no login: the signed token is the proof."""
    user = account_selectors.user_get_active(user_id=unsubscribe_token_user_id(token=token))
    if user is None:
        raise UnsubscribeLinkInvalid("This unsubscribe link is not valid.")
    return preference_update(user=user, email=EmailFrequency.OFF)


# Scheduling: rows written when their occasion is known, composed when due.

MEETING_EVENTS_WITH_INVITATIONS = (
    integration_events.MEETING_CREATED,
    integration_events.MEETING_RESCHEDULED,
    integration_events.MEETING_CANCELLED,
)


def notifications_schedule_for_events(events: list[Event]) -> None:
    """The outbox's consumer (OUTBOX_EVENT_CONSUMERS), in the worker's fan-out transaction: each new message
    schedules its offline notices and digests, each scheduled, moved or cancelled meeting its invitations,
    each decided report the email that tells its reporter.

    Done here rather than in the send: the send stays at its round trips (two statements on PostgreSQL),
    and a batch of up to 500 events costs three queries and one Redis round trip for all of them."""
    sent = [event for event in events if _message_readable_now(event)]
    if sent:
        _offline_notices_schedule(sent)
    meeting_ids = {
        event.data["id"]
        for event in events
        if event.type in MEETING_EVENTS_WITH_INVITATIONS and event.data["scheduledFor"] is not None
    }
    if meeting_ids:
        _invitations_schedule(meeting_ids)
    decided = [event.data for event in events if event.type == integration_events.REPORT_RESOLVED]
    if decided:
        _report_notices_schedule(decided)


def _message_readable_now(event: Event) -> bool:
    """A participant's message its recipients can read from now on: a new one not held for review
    (docs/moderation.md), or a held one support staff approved, which is notified as if sent then."""
    if event.type == integration_events.MESSAGE_CREATED:
        return event.data["sender"] is not None and event.data.get("review") not in HIDDEN_FROM_RECIPIENTS
    return event.type == integration_events.MESSAGE_UPDATED and event.data.get("review") == Review.APPROVED


def _offline_notices_schedule(sent: list[Event]) -> None:
    """For each message, each other participant who has not read it and is offline: with ``batched``, the
    conversation's pending notice, due NOTIFY_DELAY after the message (or the one already pending); with
    ``daily``, the digest of their next digest time. Unique constraints make each one row, whoever inserts."""
    earliest: dict[int, datetime] = {}  # conversation id -> its first new message's time
    sent_in: dict[int, list[tuple[int, int]]] = defaultdict(list)  # conversation id -> [(seq, sender id)]
    for event in sent:
        conversation_id = event.data["conversationId"]
        earliest[conversation_id] = min(event.created_at, earliest.get(conversation_id, event.created_at))
        sent_in[conversation_id].append((event.data["seq"], event.data["sender"]["id"]))
    participants = message_selectors.participant_read_markers(conversation_ids=sent_in)
    missed = {
        (conversation_id, user_id)
        for conversation_id, user_id, read_seq in participants
        if any(seq > read_seq and sender != user_id for seq, sender in sent_in[conversation_id])
    }
    user_ids = {user_id for _, user_id in missed}
    if not user_ids:
        return
    online = users_online(user_ids)
    preferences = selectors.preferences_of(user_ids=user_ids - online)
    now = timezone.now()
    rows = []
    for conversation_id, user_id in missed:
        preference = preferences.get(user_id)
        if preference is None:
            continue  # online
        if preference.email == EmailFrequency.BATCHED:
            due = earliest[conversation_id] + timedelta(seconds=settings.NOTIFY_DELAY)
            rows.append(
                Notification(
                    kind=Notification.Kind.OFFLINE,
                    user_id=user_id,
                    conversation_id=conversation_id,
                    next_attempt_at=due,
                )
            )
        elif preference.email == EmailFrequency.DAILY:
            digest_date, due = digest_next(preference, now=now)
            rows.append(
                Notification(
                    kind=Notification.Kind.DIGEST, user_id=user_id, digest_date=digest_date, next_attempt_at=due
                )
            )
    Notification.objects.bulk_create(rows, ignore_conflicts=True)


def digest_next(preference: NotificationPreference, *, now: datetime) -> tuple[date, datetime]:
    """The user's next digest after ``now``: its local date and its instant, at ``daily_digest_time`` in
    ``time_zone`` (so it stays at 08:00 local across daylight-saving changes)."""
    zone = ZoneInfo(preference.time_zone)
    local_now = now.astimezone(zone)
    at = datetime.combine(local_now.date(), preference.daily_digest_time, tzinfo=zone)
    if at <= local_now:
        at = datetime.combine(local_now.date() + timedelta(days=1), preference.daily_digest_time, tzinfo=zone)
    return at.date(), at.astimezone(UTC)


def _invitations_schedule(meeting_ids: set[int]) -> None:
    """An invitation (or update, or cancellation) for each invitee of these meetings, at the meeting's current
    sequence, due now; events of one meeting in one batch make one email of its latest state."""
    now = timezone.now()
    rows = [
        Notification(
            kind=Notification.Kind.INVITATION,
            user_id=user_id,
            meeting_id=meeting_id,
            meeting_sequence=sequence,
            next_attempt_at=now,
        )
        for meeting_id, sequence, user_id in meeting_selectors.meeting_invitees(meeting_ids=meeting_ids)
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)


def _report_notices_schedule(decided: list[dict]) -> None:
    """The email of staff's decision to each report's reporter, due now: one per report, whoever inserts."""
    now = timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(
                kind=Notification.Kind.REPORT_RESOLVED,
                user_id=data["reporterId"],
                report_id=data["id"],
                next_attempt_at=now,
            )
            for data in decided
        ],
        ignore_conflicts=True,
    )


def reminders_schedule() -> int:
    """The worker's step: a reminder, due now, for each participant (not a decliner) of each pending meeting
    starting within MEETING_REMINDER_MINUTES that has none for that start. One query when there is none."""
    due = list(selectors.reminders_due(now=timezone.now()))
    if not due:
        return 0
    now = timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(
                kind=Notification.Kind.REMINDER,
                meeting_id=meeting_id,
                user_id=user_id,
                meeting_time=at,
                next_attempt_at=now,
            )
            for meeting_id, user_id, at in due
        ],
        ignore_conflicts=True,
    )
    return len(due)


# The worker's claim, attempt and record (the webhook deliveries' pattern: integrations.claims).


@dataclass(frozen=True)
class NotificationClaim:
    notification_id: int
    token: uuid.UUID
    attempts: int


def notifications_claim(*, limit: int) -> list[NotificationClaim]:
    """Claim up to ``limit`` of the oldest due notifications no other worker holds."""
    token, rows = claims.rows_claim(
        Notification.objects.filter(status=Notification.Status.PENDING, next_attempt_at__lte=timezone.now()),
        limit=limit,
        lease_seconds=settings.NOTIFY_CLAIM_LEASE_SECONDS,
        order_by=("next_attempt_at", "id"),
    )
    return [NotificationClaim(notification_id=row.pk, token=token, attempts=row.attempts) for row in rows]


@dataclass(frozen=True)
class Composed:
    """What a due notification comes to: an email to send (or ``None``: nothing to send, or nothing by email),
    why, whether that counts as sent, and for an offline notice the seq its email covers."""

    email: EmailMultiAlternatives | None
    outcome: str
    sent: bool = False
    through_seq: int | None = None


def notification_attempt(claim: NotificationClaim) -> bool:
    """Compose the claimed notification from what is true now, send it through Django's email backend and
    record the outcome; an SMTP failure is tried again later. ``False`` if the claim was lost meanwhile."""
    notification = Notification.objects.select_related("user").get(pk=claim.notification_id)
    composed = _COMPOSERS[notification.kind](notification, first_attempt=claim.attempts == 0)
    if composed.email is None:
        return notification_record(claim, composed)
    try:
        composed.email.send()
    except (smtplib.SMTPException, OSError) as exc:
        return notification_record(claim, composed, error=f"{type(exc).__name__}: {exc}")
    return notification_record(
        claim, Composed(email=None, outcome=composed.outcome, sent=True, through_seq=composed.through_seq)
    )


@transaction.atomic
def notification_record(claim: NotificationClaim, composed: Composed, *, error: str = "") -> bool:
    """Record the attempt if ``claim`` still holds the row: sent, skipped, or (``error``) pending again after
    NOTIFY_RETRY_SCHEDULE's next delay and failed after its last. A sent or skipped offline notice whose
    conversation had more unread messages meanwhile schedules the next one (that message's own scheduling
    found this one pending and joined it)."""
    now = timezone.now()
    attempts = claim.attempts + 1
    fields: dict = {"attempts": attempts, "last_attempt_at": now, "last_error": error, "outcome": composed.outcome}
    if error:
        delay = claims.retry_delay(attempts, schedule=settings.NOTIFY_RETRY_SCHEDULE, jitter=0.1)
        if delay is None:
            fields["status"] = Notification.Status.FAILED
        else:
            fields["next_attempt_at"] = now + timedelta(seconds=delay)
    else:
        fields["status"] = Notification.Status.SENT if composed.sent else Notification.Status.SKIPPED
        fields["through_seq"] = composed.through_seq
    recorded = claims.claimed_row_record(Notification, pk=claim.notification_id, token=claim.token, **fields)
    if recorded and not error and composed.through_seq is not None:
        notification = Notification.objects.get(pk=claim.notification_id)
        assert notification.conversation_id is not None  # an offline notice's, by its check constraint
        if message_selectors.message_unread_exists_after(
            user_id=notification.user_id, conversation_id=notification.conversation_id, after_seq=composed.through_seq
        ):
            Notification.objects.bulk_create(
                [
                    Notification(
                        kind=Notification.Kind.OFFLINE,
                        user_id=notification.user_id,
                        conversation_id=notification.conversation_id,
                        next_attempt_at=now + timedelta(seconds=settings.NOTIFY_DELAY),
                    )
                ],
                ignore_conflicts=True,
            )
    return recorded


def notifications_retry(*, notification_ids: list[int]) -> int:
    """Staff's retry: the failed notifications are pending and due now, with a fresh schedule of attempts."""
    return Notification.objects.filter(pk__in=notification_ids, status=Notification.Status.FAILED).update(
        status=Notification.Status.PENDING,
        next_attempt_at=timezone.now(),
        attempts=0,
        claim_token=None,
        claimed_until=None,
    )


def _email_refusal(user, preference: NotificationPreference) -> str:
    """Why ``user`` gets no email at all, or ``""``."""
    if not user.email:
        return "no email address"
    if not user.is_active:
        return "account deactivated"
    if preference.email == EmailFrequency.OFF:
        return "email off"
    return ""


def _offline_compose(notification: Notification, *, first_attempt: bool) -> Composed:
    """The conversation's messages the user has not read since their last such email, unless they read them
    all, are online now, were removed from the conversation or no longer want it batched."""
    user = notification.user
    assert notification.conversation_id is not None  # an offline notice's, by the check constraint
    participant = message_selectors.participant_find(user=user, conversation_id=notification.conversation_id)
    if participant is None:
        return Composed(email=None, outcome="removed from the conversation")
    preference = selectors.preference_get(user=user)
    refusal = _email_refusal(user, preference)
    if refusal:
        return Composed(email=None, outcome=refusal)
    if preference.email != EmailFrequency.BATCHED:
        return Composed(email=None, outcome="email not batched")
    if users_online([user.pk]):
        return Composed(email=None, outcome="online")
    horizon = participant.conversation.last_message_seq
    emailed_through = selectors.offline_notice_emailed_through(
        user_id=user.pk, conversation_id=participant.conversation_id
    )
    messages = message_selectors.message_list_unread(
        participant=participant, after_seq=emailed_through, limit=MESSAGES_PER_EMAIL
    )
    if not messages:
        return Composed(email=None, outcome="read meanwhile", through_seq=horizon)
    return Composed(
        email=emails.offline_email(participant=participant, messages=messages, time_zone=preference.time_zone),
        outcome=f"{len(messages)} messages",
        through_seq=horizon,
    )


def _digest_compose(notification: Notification, *, first_attempt: bool) -> Composed:
    user = notification.user
    preference = selectors.preference_get(user=user)
    refusal = _email_refusal(user, preference)
    if refusal:
        return Composed(email=None, outcome=refusal)
    if preference.email != EmailFrequency.DAILY:
        return Composed(email=None, outcome="email not daily")
    conversations = [
        (participant, missed)
        for participant in message_selectors.participant_list_unread(user=user)
        if (
            missed := message_selectors.message_list_unread(
                participant=participant, after_seq=0, limit=MESSAGES_PER_EMAIL
            )
        )
    ]
    if not conversations:
        return Composed(email=None, outcome="nothing unread")
    return Composed(
        email=emails.digest_email(user=user, conversations=conversations, time_zone=preference.time_zone),
        outcome=f"{len(conversations)} conversations",
    )


def _invitation_compose(notification: Notification, *, first_attempt: bool) -> Composed:
    """The meeting as it is now, if this row is still its latest sequence (a later update has its own row)."""
    meeting = _meeting_of(notification)
    if meeting.sequence != notification.meeting_sequence:
        return Composed(email=None, outcome="superseded by a later update")
    if meeting.status in (MeetingStatus.ACTIVE, MeetingStatus.COMPLETED):
        return Composed(email=None, outcome="meeting already started")
    if notification.user_id not in project_selectors.project_member_ids(project=meeting.project):
        return Composed(email=None, outcome="no longer a project member")
    preference = selectors.preference_get(user=notification.user)
    refusal = _email_refusal(notification.user, preference)
    if refusal:
        return Composed(email=None, outcome=refusal)
    email = emails.meeting_invitation_email(meeting=meeting, recipient=notification.user)
    return Composed(email=email, outcome=str(email.subject))


def _meeting_of(notification: Notification) -> Meeting:
    assert notification.meeting_id is not None  # an invitation's or a reminder's, by the check constraint
    return meeting_selectors.meeting_get(meeting_id=notification.meeting_id)


def _reminder_compose(notification: Notification, *, first_attempt: bool) -> Composed:
    """``meeting:reminder`` to the participant's sockets (on the first attempt only: a retry is the email's),
    and the email if they are offline; nothing once the meeting moved, started or was cancelled, or they
    declined."""
    meeting = _meeting_of(notification)
    if meeting.status != MeetingStatus.PENDING or meeting.scheduled_for != notification.meeting_time:
        return Composed(email=None, outcome="meeting moved, started or cancelled")
    participation = next(p for p in meeting.participants.all() if p.user_id == notification.user_id)
    if participation.status == InvitationStatus.DECLINED:
        return Composed(email=None, outcome="declined")
    if first_attempt:
        publish_now(
            [user_group(notification.user_id)], meeting_events.MEETING_REMINDER, meeting_events.meeting_payload(meeting)
        )
    if users_online([notification.user_id]):
        return Composed(email=None, outcome="socket event; online, no email", sent=True)
    preference = selectors.preference_get(user=notification.user)
    refusal = _email_refusal(notification.user, preference)
    if refusal:
        return Composed(email=None, outcome=f"socket event; {refusal}", sent=True)
    return Composed(
        email=emails.meeting_reminder_email(
            meeting=meeting, recipient=notification.user, time_zone=preference.time_zone
        ),
        outcome="socket event and email",
    )


def _report_resolved_compose(notification: Notification, *, first_attempt: bool) -> Composed:
    """Staff's decision on the user's report and their note, sent whether or not the user is online (their
    sockets had ``report:resolved`` at the decision): it is the record of an answer they asked for."""
    assert notification.report_id is not None  # by the check constraint
    report = moderation_selectors.report_get(report_id=notification.report_id)
    preference = selectors.preference_get(user=notification.user)
    refusal = _email_refusal(notification.user, preference)
    if refusal:
        return Composed(email=None, outcome=refusal)
    email = emails.report_resolved_email(report=report, time_zone=preference.time_zone)
    return Composed(email=email, outcome=str(email.subject))


_COMPOSERS: dict[str, Callable[..., Composed]] = {
    Notification.Kind.OFFLINE: _offline_compose,
    Notification.Kind.DIGEST: _digest_compose,
    Notification.Kind.INVITATION: _invitation_compose,
    Notification.Kind.REMINDER: _reminder_compose,
    Notification.Kind.REPORT_RESOLVED: _report_resolved_compose,
}
