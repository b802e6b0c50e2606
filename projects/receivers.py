"""Signal handlers: each a one-line call into a service."""

from projects import services


def proposal_saved(sender, instance, created, raw=False, **kwargs):
    if not raw:  # fixtures load rows as they were; they bring their own projects
        services.project_create_for_accepted_proposal(proposal=instance)
