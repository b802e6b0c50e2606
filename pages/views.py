"""Server-rendered pages for end users: the dashboard and each project's page.

The pages render what a member may see; everything live (messages, typing, read ticks) then runs
in the page's JavaScript over the same REST API and ``/ws/`` socket that integrators use.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from config.errors import NotFound
from messaging import selectors as messaging_selectors
from messaging.serializers import ConversationSerializer
from projects import selectors as project_selectors


@login_required
def dashboard(request):
    participations = messaging_selectors.participations_for_user(user=request.user)
    return render(
        request,
        "pages/dashboard.html",
        {
            "projects": project_selectors.projects_of(user=request.user),
            "conversations": ConversationSerializer(participations, many=True).data,
        },
    )


@login_required
def project_detail(request, project_id: int):
    project = project_selectors.projects_of(user=request.user).filter(pk=project_id).first()
    if project is None:
        raise Http404("No such project.")
    try:
        participation = messaging_selectors.participation_for_project(user=request.user, project_id=project.pk)
    except NotFound:
        raise Http404("No such project.") from None
    page_config = {
        "me": {"id": request.user.pk, "username": request.user.username},
        "projectId": project.pk,
        "projectStatus": project.status,
        "conversation": ConversationSerializer(participation).data,
        "messageMaxLength": settings.MESSAGE_MAX_LENGTH,
    }
    return render(
        request,
        "pages/project.html",
        {
            "project": project,
            "counterpart": project.provider if request.user.pk == project.client_id else project.client,
            "terms_verified": project.terms_verify(),
            "upload_content_types": ",".join(settings.UPLOAD_ALLOWED_CONTENT_TYPES),
            "page_config": page_config,
        },
    )
