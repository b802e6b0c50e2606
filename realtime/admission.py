"""Per-process admission bounds: past a limit of work in flight, answer 503 at once instead of queueing.

Past the knee a process that accepts everything only queues: every request holds a thread and waits
for the CPU and a pooled database connection, latency grows without bound and, when the pool's
timeout passes, the answer is a 500 after the work was half done. Refusing early with
``Retry-After`` keeps the admitted work fast and tells clients when to come back.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from config.errors import Unavailable

# The smallest whole number of seconds Retry-After can say: a full process drains its bound of sends
# in a fraction of a second (docs/performance.md, "Overload"), so waiting longer only idles it.
RETRY_AFTER_SECONDS = 1


class AdmissionBound:
    """At most ``settings.<limit_setting>`` units of work at once in this process; the rest are refused."""

    def __init__(self, *, what: str, limit_setting: str):
        self.what = what
        self.limit_setting = limit_setting
        self._lock = threading.Lock()
        self._in_flight = 0
        self._rejected = 0

    @property
    def limit(self) -> int:
        # Read on each admission so that a changed setting (tests' override_settings) applies at once.
        return getattr(settings, self.limit_setting)

    @contextmanager
    def admit(self) -> Iterator[None]:
        """Hold one slot for the ``with`` body, or raise ``Unavailable`` (503 + Retry-After) if none is free."""
        limit = self.limit
        with self._lock:
            admitted = self._in_flight < limit
            if admitted:
                self._in_flight += 1
            else:
                self._rejected += 1
        if not admitted:
            raise Unavailable(
                f"The server is at its limit of {limit} {self.what} in flight; retry in {RETRY_AFTER_SECONDS} s.",
                code="overloaded",
                retry_after=RETRY_AFTER_SECONDS,
            )
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def snapshot(self) -> dict:
        with self._lock:
            return {"inFlight": self._in_flight, "limit": self.limit, "rejected": self._rejected}


# A send is in flight from admission through its commit and the publish that follows it.
send_admission = AdmissionBound(what="message sends", limit_setting="SEND_MAX_IN_FLIGHT")
