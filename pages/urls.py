from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.forms import LoginForm
from pages import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout", auth_views.LogoutView.as_view(), name="logout"),
    path("projects/<int:project_id>", views.project_detail, name="project-detail"),
    path("meetings/<int:meeting_id>/call", views.meeting_call, name="meeting-call"),
]
