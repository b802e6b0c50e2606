"""Meetings of a project's members, held over Agora RTC."""
