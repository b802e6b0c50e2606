"""What projects announce to the apps that keep something per member (meetings: a new member's invitations)."""

from django.dispatch import Signal

# An owner added a member to the project. Sent inside the adding transaction, holding the project's row lock and
# before the conversation's is taken, so a receiver may lock the rows that come between them in the lock order
# (a meeting's). Arguments: project_id, user_id.
member_added = Signal()
