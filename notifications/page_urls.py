from django.urls import path

from notifications import views

urlpatterns = [
    path("settings/notifications", views.NotificationSettingsView.as_view(), name="notification-settings"),
    path("unsubscribe/<str:token>", views.UnsubscribeView.as_view(), name="notifications-unsubscribe"),
]
