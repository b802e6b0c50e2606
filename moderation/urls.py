from django.urls import path

from moderation import api

urlpatterns = [path("messages/<id:pk>/report", api.MessageReportView.as_view(), name="message-report")]
