"""Server-rendered pages for end users: the dashboard and each project's page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from messaging import selectors as messaging_selectors
from projects import selectors as project_selectors


@login_required
def dashboard(request):
    return render(
        request,
        "pages/dashboard.html",
        {
            "projects": project_selectors.projects_of(user=request.user),
            "participations": messaging_selectors.participations_for_user(user=request.user),
        },
    )
