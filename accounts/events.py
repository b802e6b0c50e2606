"""Socket event names of the accounts module."""

# Pushed to a deactivated user's personal group; its effect (accounts.consumers) closes each socket
# with 4401 before it could be forwarded, so clients see the close code, never this event.
ACCOUNT_DEACTIVATED = "account:deactivated"
