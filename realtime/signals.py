"""What the socket session announces to the apps that keep state per socket (presence), so that realtime asks
none of them. Sent with ``asend_robust`` from the session: a receiver's failure is logged and never breaks the
socket. Receivers are coroutines that take the keyword arguments below and ``**kwargs``.
"""

from django.dispatch import Signal

# An authenticated socket was admitted (its user group joined, the client told it is connected).
# Arguments: user_id, channel_name.
socket_opened = Signal()
# A session ended; sent on every end of it, possibly more than once for one socket. Argument: channel_name.
socket_closed = Signal()
