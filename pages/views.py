"""Server-rendered pages for end users: the dashboard, each project's page and a meeting's call screen.

The pages render what a member may see; everything live (messages, typing, read ticks, rings) then
runs in the page's JavaScript over the same REST API and ``/ws/`` socket that integrators use.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from kernel.errors import NotFound
from meetings import selectors as meeting_selectors
from meetings.models import MeetingParticipant
from meetings.serializers import MeetingSerializer
from messaging import selectors as messaging_selectors
from messaging.serializers import ConversationSerializer
from projects import selectors as project_selectors
from projects.models import ProjectMember
from projects.serializers import ProjectMemberSerializer

PROJECT_PAGE_MEETINGS = 20
DASHBOARD_MEETINGS = 20


@login_required
def dashboard(request):
    participations = messaging_selectors.participant_list_for_user(user=request.user)
    upcoming = meeting_selectors.meeting_list_upcoming_for_user(user=request.user, limit=DASHBOARD_MEETINGS)
    meetings = [_with_my_answer(meeting, request.user) for meeting in MeetingSerializer(upcoming, many=True).data]
    return render(
        request,
        "pages/dashboard.html",
        {
            "projects": project_selectors.project_list_for_user(user=request.user),
            "conversations": ConversationSerializer(participations, many=True).data,
            "meetings": meetings,
            "invitations": [m for m in meetings if m["myAnswer"] == MeetingParticipant.Status.INVITED],
            "socket_config": {"me": {"id": request.user.pk, "username": request.user.username}},
        },
    )


def _with_my_answer(meeting: dict, user) -> dict:
    mine = next(p for p in meeting["participants"] if p["user"]["id"] == user.pk)
    return {**meeting, "myAnswer": mine["status"], "amHost": mine["isHost"]}


@login_required
def project_detail(request, project_id: int):
    try:
        project = project_selectors.project_get_for_member(user=request.user, project_id=project_id)
        participation = messaging_selectors.participant_get_for_project(user=request.user, project_id=project.pk)
    except NotFound:
        raise Http404("No such project.") from None
    meetings = meeting_selectors.meeting_list_for_user(user=request.user, project_id=project.pk)[:PROJECT_PAGE_MEETINGS]
    members = project_selectors.project_member_list(project=project)
    my_side = next(member.side for member in members if member.user.pk == request.user.pk)
    page_config = {
        "me": {"id": request.user.pk, "username": request.user.username},
        "projectId": project.pk,
        "projectTitle": project.title,
        "projectStatus": project.status,
        "conversation": ConversationSerializer(participation).data,
        "meetings": MeetingSerializer(meetings, many=True).data,
        "messageMaxLength": settings.MESSAGE_MAX_LENGTH,
        "messageEditWindowSeconds": int(settings.MESSAGE_EDIT_WINDOW.total_seconds()),
    }
    return render(
        request,
        "pages/project.html",
        {
            "project": project,
            # The owner of the other side: a teammate works with the same party as their owner.
            "counterpart": project.provider if my_side == ProjectMember.Side.CLIENT else project.client,
            "members": ProjectMemberSerializer(members, many=True).data,
            "terms_verified": project.terms_verify(),
            "provider_suspended": project.provider.is_suspended_provider,
            # A suspended provider reads on but writes nothing (accounts.suspension): no composer, no meeting forms.
            "can_write": project.is_active and not request.user.is_suspended_provider,
            "upload_content_types": ",".join(settings.UPLOAD_ALLOWED_CONTENT_TYPES),
            "page_config": page_config,
        },
    )


@login_required
def meeting_call(request, meeting_id: int):
    try:
        meeting = meeting_selectors.meeting_get_for_member(user=request.user, meeting_id=meeting_id)
    except NotFound:
        raise Http404("No such meeting.") from None
    call_config = {
        "me": {"id": request.user.pk, "username": request.user.username},
        "meeting": MeetingSerializer(meeting).data,
        "isHost": meeting.host_id == request.user.pk,
        "sdkUrl": settings.AGORA_SDK_URL,
        "agoraConfigured": bool(settings.AGORA_APP_ID),
        "namesByUid": meeting_selectors.meeting_call_names_by_uid(meeting=meeting),
    }
    return render(
        request,
        "pages/call.html",
        {"meeting": meeting, "agora_configured": bool(settings.AGORA_APP_ID), "call_config": call_config},
    )
