"""Signal handlers: each a one-line call into a service."""

from meetings import services


def member_added(sender, *, project_id, user_id, **kwargs):
    services.meeting_invite_member(project_id=project_id, user_id=user_id)
