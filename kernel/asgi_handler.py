"""Django's ASGI handler, without a thread started and joined for every request.

Why: Django's ``ASGIHandler`` runs each request in a ``ThreadSensitiveContext`` of its own, so that all of
the request's sync code (a sync view, ``request_started``/``request_finished`` receivers, ``response.close``)
runs on one thread, which keeps its database connection and thread-locals for the request. asgiref makes
that a new one-thread executor per request and, at its end, starts another thread to join the first: two
threads started per request, about 2 ms of CPU per send on the send path (docs/performance.md, "Send path:
the profile").

``ReusedThreadASGIHandler`` hands each request a one-thread executor taken from a bounded pool of idle ones
(asgiref's ``ThreadSensitiveContext(executor=...)``) and gives it back when the request is over. What
Django's semantics need still holds:

- one request's sync calls all run on its one thread, one at a time, and no other request's run there
  meanwhile: an executor is back in the pool only when the request has ended and none of its calls is
  still running (a call of a request cancelled by a client's disconnect may outlive it: that executor is
  shut down instead of reused); a task a view leaves behind that calls ``sync_to_async`` after the request
  raises ``RuntimeError``, as with Django's handler once its executor is shut down;
- the database connections a request opened are closed at its end as before: Django's
  ``request_finished`` receiver runs on the request's thread (``CONN_MAX_AGE`` is 0, config/settings.py;
  with the PostgreSQL pool closing hands the connection back to the pool), so an idle thread holds none.
  ``close_idle_threads()`` closes whatever they might still hold and stops them, for a process that lives
  on without the handler: the tests call it after each test, so that no thread keeps a connection to a
  test database that is to be dropped. A server needs no call: its threads end with its process.
"""

import collections
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.core.handlers.asgi import ASGIHandler
from django.db import connections

# Idle threads kept for the next requests. Requests in flight beyond it take new threads (and those end
# after their request); 32 is above the sends admitted per process (SEND_MAX_IN_FLIGHT) and the database pool.
IDLE_THREADS_MAX = 32


class RequestThread(ThreadPoolExecutor):
    """One thread for one request's sync calls at a time, which knows whether a call is still running."""

    def __init__(self):
        super().__init__(max_workers=1, thread_name_prefix="request")
        self._lock = threading.Lock()
        self._calls = 0

    def submit(self, fn, /, *args, **kwargs) -> Future:
        with self._lock:
            self._calls += 1
        future = super().submit(fn, *args, **kwargs)
        # Added before asyncio's own callback: the count is down before the awaiting coroutine resumes.
        future.add_done_callback(self._call_done)
        return future

    def _call_done(self, future: Future) -> None:
        with self._lock:
            self._calls -= 1

    @property
    def idle(self) -> bool:
        with self._lock:
            return self._calls == 0


class IdleThreads:
    """The pool of idle ``RequestThread``\\ s, at most ``limit`` of them."""

    def __init__(self, limit: int = IDLE_THREADS_MAX):
        self.limit = limit
        self._lock = threading.Lock()
        self._idle: collections.deque[RequestThread] = collections.deque()

    def take(self) -> RequestThread:
        with self._lock:
            if self._idle:
                # The most recently used: its thread and connection state are the warmest.
                return self._idle.pop()
        return RequestThread()

    def give_back(self, thread: RequestThread) -> None:
        if thread.idle:
            with self._lock:
                if len(self._idle) < self.limit:
                    self._idle.append(thread)
                    return
        thread.shutdown(wait=False)  # it ends once its last call has

    def close_all(self) -> None:
        """Close the idle threads' database connections, then stop the threads."""
        with self._lock:
            idle, self._idle = list(self._idle), collections.deque()
        for thread in idle:
            thread.submit(connections.close_all).result()
            thread.shutdown(wait=True)

    def __len__(self) -> int:
        with self._lock:
            return len(self._idle)


class ReusedThreadASGIHandler(ASGIHandler):
    """``ASGIHandler`` whose requests run their sync code on a pooled thread instead of a new one each."""

    def __init__(self):
        super().__init__()
        self.idle_threads = IdleThreads()

    async def __call__(self, scope, receive, send):
        thread = self.idle_threads.take()
        try:
            # Django's own ThreadSensitiveContext inside finds this one entered and uses its executor.
            async with ThreadSensitiveContext(executor=thread):
                await super().__call__(scope, receive, send)
        finally:
            self.idle_threads.give_back(thread)

    def close_idle_threads(self) -> None:
        self.idle_threads.close_all()
