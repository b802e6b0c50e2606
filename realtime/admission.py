"""Per-process admission bounds: past a limit of work in flight, answer 503 at once instead of queueing.

Past the knee a process that accepts everything only queues: every request holds a thread and waits
for the CPU and a pooled database connection, latency grows without bound and, when the pool's
timeout passes, the answer is a 500 after the work was half done. Refusing early with
``Retry-After`` keeps the admitted work fast and tells clients when to come back.
"""

import threading
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


class SendAdmissionMiddleware:
    """Holds a send slot for the whole of ``POST /api/messages``, from the first middleware to the response.

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
        if not send_admission.acquire():
            return _refusal_response()
        try:
            return self.get_response(request)
        finally:
            send_admission.release()

    async def _admit_async(self, request):
        if not _is_a_send(request):
            return await self.get_response(request)
        if not send_admission.acquire():
            return _refusal_response()
        try:
            return await self.get_response(request)
        finally:
            send_admission.release()


def _is_a_send(request) -> bool:
    return request.method == "POST" and request.path_info == _send_path()


def _refusal_response() -> JsonResponse:
    refusal = send_admission.refusal()
    response = JsonResponse(refusal.as_payload(), status=refusal.http_status)
    response["Retry-After"] = str(refusal.retry_after)
    return response


@memoized
def _send_path() -> str:
    return reverse("message-list")
