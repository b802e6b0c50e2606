from django.urls import path

from notifications import api

urlpatterns = [
    path("notifications/preferences", api.PreferenceView.as_view(), name="notification-preferences"),
    path("meetings/<id:pk>/ics", api.MeetingCalendarView.as_view(), name="meeting-ics"),
]
