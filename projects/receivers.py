"""Signal handlers: each a one-line call into a service."""

from projects import services


def proposal_saved(sender, instance, created, raw=False, **kwargs):
    """Create the project of a proposal that ``proposal_accept`` has just accepted, and of no other.

    A save that sets ``status=accepted`` by hand (a form, a shell) never reaches this: ``Proposal.save``
    raises ``AcceptanceRequired`` before writing, rather than the receiver ignoring it after the row is
    stored, which would leave an accepted proposal without a project that its status lock keeps for ever.
    """
    if not raw:  # fixtures load rows as they were; they bring their own projects
        services.project_create_for_accepted_proposal(proposal=instance)
