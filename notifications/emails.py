"""The emails the site sends, composed here and sent by the background worker
(``notifications.services.notification_attempt``): each is an ``EmailMultiAlternatives`` with a text body, an
HTML body whose every user-written value is escaped by the template, and the one-click unsubscribe headers
of RFC 8058."""

from email.mime.text import MIMEText

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse

from meetings.models import Meeting
from messaging.models import Message, Participant
from moderation.models import Report
from notifications.meeting_calendar import METHOD_CANCEL, meeting_calendar, meeting_calendar_method
from notifications.models import DEFAULT_TIME_ZONE
from notifications.tokens import unsubscribe_token_make


def unsubscribe_url(user, request_or_base_url: HttpRequest | str = "") -> str:
    """The absolute URL of ``user``'s one-click unsubscribe link: from the request when there is one,
    else from ``request_or_base_url`` or SITE_URL (an email composed by the worker has no request)."""
    path = reverse("notifications-unsubscribe", args=[unsubscribe_token_make(user_id=user.pk)])
    if isinstance(request_or_base_url, HttpRequest):
        return request_or_base_url.build_absolute_uri(path)
    return (request_or_base_url or settings.SITE_URL).rstrip("/") + path


def unsubscribe_headers(user, request_or_base_url: HttpRequest | str = "") -> dict[str, str]:
    """``List-Unsubscribe`` with the link and ``List-Unsubscribe-Post`` (RFC 8058): mail clients then offer
    an unsubscribe button that POSTs to the link, which turns the user's emails off without a login."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(user, request_or_base_url)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def meeting_invitation_email(*, meeting: Meeting, recipient, site_url: str = "") -> EmailMultiAlternatives:
    """The invitation to ``meeting`` for ``recipient`` (one of its participants), or its update after a
    reschedule, or its cancellation, with the meeting's calendar file attached under the matching METHOD.

    ``meeting`` comes from ``meetings.selectors.meeting_get`` (host, project, participants loaded).
    """
    site_url = (site_url or settings.SITE_URL).rstrip("/")
    method = meeting_calendar_method(meeting)
    start = meeting.scheduled_for or meeting.started_at or meeting.created_at
    if method == METHOD_CANCEL:
        subject = f"Cancelled: {meeting.title}"
    elif meeting.sequence > 0:
        subject = f"Updated invitation: {meeting.title}"
    else:
        subject = f"Invitation: {meeting.title}"
    context = {
        "meeting": meeting,
        "recipient": recipient,
        "cancelled": method == METHOD_CANCEL,
        "updated": method != METHOD_CANCEL and meeting.sequence > 0,
        "start": start,
        "call_url": site_url + reverse("meeting-call", args=[meeting.pk]),
        "project_url": site_url + reverse("project-detail", args=[meeting.project_id]),
        "settings_url": site_url + reverse("notification-settings"),
        "unsubscribe_url": unsubscribe_url(recipient, site_url),
    }
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("notifications/email/meeting_invitation.txt", context),
        to=[recipient.email],
        headers=unsubscribe_headers(recipient, site_url),
    )
    email.attach_alternative(render_to_string("notifications/email/meeting_invitation.html", context), "text/html")
    email.attach(_calendar_part(meeting_calendar(meeting, viewer=recipient, site_url=site_url), method=method))
    return email


def _calendar_part(ics: bytes, *, method: str) -> MIMEText:
    """The .ics attachment; ``method`` in its content type is what calendar clients read (RFC 6047)."""
    part = MIMEText(ics.decode(), "calendar", "utf-8")
    part.set_param("method", method)
    part.add_header(
        "Content-Disposition", "attachment", filename="invite.ics" if method != METHOD_CANCEL else "cancel.ics"
    )
    return part


def _email(
    *, recipient, subject: str, template: str, context: dict, site_url: str, time_zone: str
) -> EmailMultiAlternatives:
    """``template``'s .txt and .html rendered with ``context`` (and the footer's links) for ``recipient``, times
    in their ``time_zone``."""
    context = {
        **context,
        "time_zone": time_zone,
        "recipient": recipient,
        "settings_url": site_url + reverse("notification-settings"),
        "unsubscribe_url": unsubscribe_url(recipient, site_url),
    }
    email = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        to=[recipient.email],
        headers=unsubscribe_headers(recipient, site_url),
    )
    email.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    return email


def _project_url(site_url: str, project_id: int) -> str:
    return site_url + reverse("project-detail", args=[project_id])


def offline_email(
    *, participant: Participant, messages: list[Message], time_zone: str = DEFAULT_TIME_ZONE, site_url: str = ""
) -> EmailMultiAlternatives:
    """What ``participant`` missed in their conversation: each message's sender, time, excerpt or file name,
    and the link to the project's page. ``participant`` comes with its user and conversation's project."""
    site_url = (site_url or settings.SITE_URL).rstrip("/")
    project = participant.conversation.project
    count = len(messages)
    return _email(
        recipient=participant.user,
        subject=f"{count} new message{'' if count == 1 else 's'} in “{project.title}”",
        template="notifications/email/offline",
        context={"project": project, "messages": messages, "project_url": _project_url(site_url, project.pk)},
        site_url=site_url,
        time_zone=time_zone,
    )


def digest_email(
    *,
    user,
    conversations: list[tuple[Participant, list[Message]]],
    time_zone: str = DEFAULT_TIME_ZONE,
    site_url: str = "",
) -> EmailMultiAlternatives:
    """The daily digest: each unread conversation's project, link and the messages missed in it."""
    site_url = (site_url or settings.SITE_URL).rstrip("/")
    sections = [
        {
            "project": participant.conversation.project,
            "project_url": _project_url(site_url, participant.conversation.project_id),
            "messages": messages,
        }
        for participant, messages in conversations
    ]
    count = sum(len(messages) for _, messages in conversations)
    return _email(
        recipient=user,
        subject=f"Your daily digest: {count} unread message{'' if count == 1 else 's'}",
        template="notifications/email/digest",
        context={"sections": sections},
        site_url=site_url,
        time_zone=time_zone,
    )


def meeting_reminder_email(
    *, meeting: Meeting, recipient, time_zone: str = DEFAULT_TIME_ZONE, site_url: str = ""
) -> EmailMultiAlternatives:
    """The reminder that ``meeting`` starts soon, with the link to its call."""
    site_url = (site_url or settings.SITE_URL).rstrip("/")
    return _email(
        recipient=recipient,
        subject=f"Starting soon: {meeting.title}",
        template="notifications/email/meeting_reminder",
        context={
            "meeting": meeting,
            "call_url": site_url + reverse("meeting-call", args=[meeting.pk]),
            "project_url": _project_url(site_url, meeting.project_id),
        },
        site_url=site_url,
        time_zone=time_zone,
    )


def report_resolved_email(
    *, report: Report, time_zone: str = DEFAULT_TIME_ZONE, site_url: str = ""
) -> EmailMultiAlternatives:
    """Support staff's decision on ``report`` for its reporter: resolved or dismissed, their note, and the
    message reported. ``report`` comes from ``moderation.selectors.report_get``."""
    site_url = (site_url or settings.SITE_URL).rstrip("/")
    project = report.message.conversation.project
    return _email(
        recipient=report.reporter,
        subject=f"Your report in “{project.title}” was {report.status}",
        template="notifications/email/report_resolved",
        context={"report": report, "project": project, "project_url": _project_url(site_url, project.pk)},
        site_url=site_url,
        time_zone=time_zone,
    )
