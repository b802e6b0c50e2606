"""Per-process admission bounds: past a limit of work in flight, answer 503 at once instead of queueing.

Past the knee a process that accepts everything only queues: every request holds a thread and waits
for the CPU and a pooled database connection, latency grows without bound and, when the pool's
timeout passes, the answer is a 500 after the work was half done. Refusing early with
``Retry-After`` keeps the admitted work fast and tells clients when to come back.

Two bounds guard ``POST /api/messages``: the sends in flight (``send_admission``), and how far behind this
process's sockets are with their pushes (``delivery_lag``). A send cheaper than its deliveries can outrun
them: the sends stay under their bound while the channel layer's queues grow until they drop pushes of
messages already answered 201. Refusing sends while the pushes lag keeps the backlog toward the sockets
to about ``DELIVERY_MAX_LAG_MS`` of sends, far below the layer's capacity (docs/performance.md, "Overload").
"""

import threading
import time
from functools import cache as memoized

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import JsonResponse
from django.urls import reverse

from kernel.errors import Overloaded, Unavailable

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

    def acquire(self) -> bool:
        """Take a slot if one is free; a refusal is counted. Every True must be followed by ``release()``."""
        with self._lock:
            if self._in_flight < self.limit:
                self._in_flight += 1
                return True
            self._rejected += 1
            return False

    def release(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def refusal(self) -> Unavailable:
        return Overloaded(
            f"The server is at its limit of {self.limit} {self.what} in flight; retry in {RETRY_AFTER_SECONDS} s.",
            retry_after=RETRY_AFTER_SECONDS,
        )

    def snapshot(self) -> dict:
        with self._lock:
            return {"inFlight": self._in_flight, "limit": self.limit, "rejected": self._rejected}


# A send is in flight from admission through its commit and the publish that follows it.
send_admission = AdmissionBound(what="message sends", limit_setting="SEND_MAX_IN_FLIGHT")

# How long an observed lag stands without a newer push: a quiet spell after a backlog drained clears it.
LAG_MEMORY_SECONDS = 1.0


class DeliveryLag:
    """How old the pushes this process's sockets receive are, as the most recent one said (for
    ``LAG_MEMORY_SECONDS``); sends are refused while it is over ``settings.DELIVERY_MAX_LAG_MS``.

    A push's age is from its publish (``realtime.publish.group_message`` stamps it) to its socket's
    handler: the time it waited in the channel layer and behind the other pushes of this process. Each
    socket reports each push it receives, so this is one tuple assignment on the event loop; it is read by
    the admission middleware on the loop or in a request's thread (the assignment is atomic).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._last: tuple[float, float] = (0.0, 0.0)  # (age ms, monotonic time it was observed)
        self._rejected = 0

    @property
    def limit_ms(self) -> int:
        return settings.DELIVERY_MAX_LAG_MS

    def observe(self, published_at: float) -> None:
        """A push published at ``published_at`` (``time.time()``, comparable across processes and hosts)
        reached its socket now."""
        self._last = (max(time.time() - published_at, 0.0) * 1000, time.monotonic())

    def lag_ms(self) -> float:
        age_ms, observed_at = self._last
        return age_ms if time.monotonic() - observed_at < LAG_MEMORY_SECONDS else 0.0

    def admits(self) -> bool:
        """False, counted, while the sockets lag past the limit."""
        if self.lag_ms() <= self.limit_ms:
            return True
        with self._lock:
            self._rejected += 1
        return False

    def refusal(self) -> Unavailable:
        return Overloaded(
            f"Deliveries to sockets are more than {self.limit_ms} ms behind; retry in {RETRY_AFTER_SECONDS} s.",
            retry_after=RETRY_AFTER_SECONDS,
        )

    def snapshot(self) -> dict:
        with self._lock:
            return {"lagMs": round(self.lag_ms(), 1), "limitMs": self.limit_ms, "rejected": self._rejected}


delivery_lag = DeliveryLag()


class SendAdmissionMiddleware:
    """Holds a send slot for the whole of ``POST /api/messages``, from the first middleware to the response,
    and refuses sends while the pushes to this process's sockets lag past ``DELIVERY_MAX_LAG_MS``.

    Refusing here, first in MIDDLEWARE, costs no session or JWT lookup, no rate-limit round trip to Redis
    and no body parsing: past the knee a refusal must be nearly free, or refusals themselves eat the CPU
    the admitted sends need (docs/performance.md, "Overload"). Under ASGI it runs on the event loop (taking
    a slot holds the lock for a few instructions), so the stack below it stays async.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._admit_async(request)
        if not _is_a_send(request):
            return self.get_response(request)
        if (refusal := _refusal()) is not None:
            return refusal
        try:
            return self.get_response(request)
        finally:
            send_admission.release()

    async def _admit_async(self, request):
        if not _is_a_send(request):
            return await self.get_response(request)
        if (refusal := _refusal()) is not None:
            return refusal
        try:
            return await self.get_response(request)
        finally:
            send_admission.release()


def _is_a_send(request) -> bool:
    return request.method == "POST" and request.path_info == _send_path()


def _refusal() -> JsonResponse | None:
    """The 503 for a send that is not admitted, or None once it holds a send slot (to release)."""
    if not delivery_lag.admits():
        return _refusal_response(delivery_lag.refusal())
    if not send_admission.acquire():
        return _refusal_response(send_admission.refusal())
    return None


def _refusal_response(refusal: Unavailable) -> JsonResponse:
    response = JsonResponse(refusal.as_payload(), status=refusal.http_status)
    response["Retry-After"] = str(refusal.retry_after)
    return response


@memoized
def _send_path() -> str:
    return reverse("message-list")
