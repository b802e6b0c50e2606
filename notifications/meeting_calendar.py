"""A meeting as an iCalendar object (RFC 5545, with iTIP's METHOD of RFC 5546), written by the ``icalendar``
library: the file ``GET /api/meetings/{id}/ics`` serves and invitation emails attach.

One meeting is one calendar entry for its whole life: the same ``UID`` in every file, and a ``SEQUENCE`` that
rises with each reschedule and the cancellation (``Meeting.sequence``, raised by meetings.services), so a
calendar replaces the entry it holds instead of adding another.
"""

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from meetings.models import InvitationStatus, Meeting, MeetingStatus

PRODUCT_ID = "-//Collaboration//Meetings//EN"
METHOD_REQUEST = "REQUEST"
METHOD_CANCEL = "CANCEL"
# An invitee's answer as iCalendar's participation status.
PARTSTAT = {
    InvitationStatus.INVITED: "NEEDS-ACTION",
    InvitationStatus.ACCEPTED: "ACCEPTED",
    InvitationStatus.DECLINED: "DECLINED",
}


def meeting_calendar_method(meeting: Meeting) -> str:
    """CANCEL for a cancelled meeting, REQUEST (an invitation or its update) for any other."""
    return METHOD_CANCEL if meeting.status == MeetingStatus.CANCELLED else METHOD_REQUEST


def meeting_calendar_uid(meeting: Meeting, *, site_url: str) -> str:
    return f"meeting-{meeting.pk}@{urlsplit(site_url).hostname}"


def meeting_calendar_times(meeting: Meeting) -> tuple[datetime, datetime]:
    """Start and end: the scheduled time (or when it started, or was created, for one never scheduled), and
    the real end once completed, else MEETING_CALENDAR_MINUTES later: a meeting has no planned length."""
    start = meeting.scheduled_for or meeting.started_at or meeting.created_at
    if meeting.ended_at is not None:
        return start, max(meeting.ended_at, start)
    return start, start + timedelta(minutes=settings.MEETING_CALENDAR_MINUTES)


def meeting_calendar(meeting: Meeting, *, viewer, site_url: str = "") -> bytes:
    """The meeting's iCalendar file as ``viewer`` (a participant) gets it. ``meeting`` comes with its host, project
    and participants with their users (``meetings.selectors.meeting_get``); ``site_url`` (default SITE_URL) makes
    the UID's host and the call's URL."""
    site_url = (site_url or settings.SITE_URL).rstrip("/")
    method = meeting_calendar_method(meeting)
    start, end = meeting_calendar_times(meeting)

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)

    event = Event()
    event.add("uid", meeting_calendar_uid(meeting, site_url=site_url))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", meeting.title)
    description = f"{meeting.agenda}\n\n" if meeting.agenda else ""
    event.add("description", f"{description}Project: {meeting.project.title}")
    call_url = site_url + reverse("meeting-call", args=[meeting.pk])
    event.add("url", call_url)
    event.add("location", call_url)
    event.add("status", "CANCELLED" if method == METHOD_CANCEL else "CONFIRMED")
    event.add("organizer", _address(meeting.host, viewer=viewer, site_url=site_url))
    for participation in meeting.participants.all():
        if participation.user_id == meeting.host_id:
            continue
        attendee = _address(participation.user, viewer=viewer, site_url=site_url)
        attendee.params["ROLE"] = vText("REQ-PARTICIPANT")
        attendee.params["PARTSTAT"] = vText(PARTSTAT[InvitationStatus(participation.status)])
        attendee.params["RSVP"] = vText("TRUE" if participation.status == InvitationStatus.INVITED else "FALSE")
        event.add("attendee", attendee, encode=False)
    calendar.add_component(event)
    return calendar.to_ical()


def _address(user, *, viewer, site_url: str) -> vCalAddress:
    """A user as a calendar address. The viewer's own is their email, by which their calendar knows the entry
    is theirs to answer; everyone else's is an address under the site's host that receives nothing: the site
    never shows one member's email to another (its API shows username and role), nor does its calendar file."""
    own = user.pk == viewer.pk and user.email
    email = user.email if own else f"user-{user.pk}@{urlsplit(site_url).hostname}"
    address = vCalAddress(f"mailto:{email}")
    address.params["CN"] = vText(user.get_full_name() or user.username)
    return address
