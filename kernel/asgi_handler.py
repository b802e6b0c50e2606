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

Its ``handle`` is Django's (5.2), with the request's two signals sent to its thread only when there is work for
them there. Django's handler hops to the request's thread before the view, for ``request_started``, and after
it, for ``response.close()`` and ``request_finished``, even when the request never runs code on that thread
(an async view on the loop, as the send is): two hops that cost more of the interpreter per send than the
middleware stack (docs/performance.md, "Hops and collector pauses"). What those receivers do stays done where
Django does it:

- Django's receivers that act on the calling thread's database connections (``close_old_connections``,
  ``reset_queries``; Django's connections are per thread) run on the request's thread, as Django runs them,
  but only when the request uses that thread: ``request_started``'s run just before the request's first call
  there (``RequestThread.defer``), ``request_finished``'s after its last. A request that never uses its thread
  leaves that thread's connections as the previous request left them, which is what those receivers would
  have found and left.
- ``reset_urlconf`` and ``close_caches`` act on the request's context, not its thread: they run on the loop.
- Any other sync receiver, and a response with resources to close, take Django's hops unchanged.
"""

import asyncio
import collections
import contextlib
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.cache import close_caches
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import reset_urlconf
from django.db import close_old_connections, connections, reset_queries
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponseBase
from django.urls import set_script_prefix

# Idle threads kept for the next requests. Requests in flight beyond it take new threads (and those end
# after their request); 32 is above the sends admitted per process (SEND_MAX_IN_FLIGHT) and the database pool.
IDLE_THREADS_MAX = 32

# Django's receivers of the request signals whose work is the calling thread's database connections.
THREAD_CONNECTION_RECEIVERS = frozenset({close_old_connections, reset_queries})
# Django's receivers whose work is the request's context: the URLconf override and the caches are per context in
# Django, not per thread, so these act on the same objects on the loop as on the request's thread.
CONTEXT_RECEIVERS = frozenset({reset_urlconf, close_caches})

_request_thread: contextvars.ContextVar["RequestThread"] = contextvars.ContextVar("request_thread")


class RequestThread(ThreadPoolExecutor):
    """One thread for one request's sync calls at a time, which knows whether a call is still running."""

    def __init__(self):
        super().__init__(max_workers=1, thread_name_prefix="request")
        self._lock = threading.Lock()
        self._calls = 0
        # Set and read on the loop's thread only, as submit() is called.
        self._deferred: Callable[[], object] | None = None
        self.used = False

    def defer(self, call: Callable[[], object]) -> None:
        """Run ``call`` on this thread just before the next call submitted here, if one is."""
        self._deferred = call

    @contextlib.contextmanager
    def serving_a_request(self):
        """One request's turn: ``used`` tells whether it submitted a call here; its deferred call, if none ran it,
        is forgotten at its end."""
        self.used = False
        try:
            yield
        finally:
            self._deferred = None

    def submit(self, fn, /, *args, **kwargs) -> Future:
        with self._lock:
            self._calls += 1
        self.used = True
        deferred, self._deferred = self._deferred, None
        if deferred is not None:
            fn, args, kwargs = _after, (deferred, fn, *args), kwargs
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


def _after(first: Callable[[], object], fn, /, *args, **kwargs):
    first()
    return fn(*args, **kwargs)


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
    """``ASGIHandler`` whose requests run their sync code on a pooled thread instead of a new one each, and hop to
    it for the request's signals only when they have work there."""

    def __init__(self):
        super().__init__()
        self.idle_threads = IdleThreads()

    async def __call__(self, scope, receive, send):
        thread = self.idle_threads.take()
        token = _request_thread.set(thread)
        try:
            # Django's own ThreadSensitiveContext inside finds this one entered and uses its executor.
            with thread.serving_a_request():
                async with ThreadSensitiveContext(executor=thread):
                    await super().__call__(scope, receive, send)
        finally:
            _request_thread.reset(token)
            self.idle_threads.give_back(thread)

    async def handle(self, scope, receive, send):
        """Django's ``ASGIHandler.handle`` (5.2), whose two signals go through ``_request_started`` and
        ``_request_finished``; tests/security/test_asgi_handler.py holds it to the source it was read from."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        await self._request_started(scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            await self._request_finished(None, error_response)
            return

        async def process_request(request, send):
            response = await self.run_get_response(request)
            with contextlib.suppress(asyncio.CancelledError):  # the client disconnected during send_response
                await self.send_response(response, send)
            return response

        # The disconnect listener goes first: it raises nothing unexpected that would keep process_request from
        # being cancelled.
        tasks = [
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(process_request(request, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()  # views may handle the cancellation
                with contextlib.suppress(asyncio.CancelledError):
                    await task

        try:
            response = tasks[1].result()
        except asyncio.CancelledError:
            await self._request_finished(request, None)
        else:
            await self._request_finished(request, response)
        body_file.close()

    async def _request_started(self, scope) -> None:
        """``request_started``, its connection receivers deferred to the request's first call on its thread."""
        sync_receivers, async_receivers = signals.request_started._live_receivers(self.__class__)
        if not _all_of(sync_receivers, THREAD_CONNECTION_RECEIVERS):
            await signals.request_started.asend(sender=self.__class__, scope=scope)
            return
        _request_thread.get().defer(
            lambda: [
                receiver(signal=signals.request_started, sender=self.__class__, scope=scope)
                for receiver in sync_receivers
            ]
        )
        await _sent_to(async_receivers, signals.request_started, self.__class__, scope=scope)

    async def _request_finished(self, request: HttpRequest | None, response: HttpResponseBase | None) -> None:
        """``response.close()``, which closes the response's resources and sends ``request_finished`` (the signal
        alone for a cancelled request): on the request's thread, as Django does, if the request used that thread,
        if another app's receiver listens, or if the response has more to close than the request's own body; on
        the loop otherwise, where that is all there is to do."""
        sync_receivers, async_receivers = signals.request_finished._live_receivers(self.__class__)
        # Django's base handler adds the request's close() (its body's buffer, its uploaded files) to every
        # response's; anything else (the file a FileResponse streamed) is closed on the thread.
        closers = [] if response is None else response._resource_closers  # type: ignore[attr-defined]
        if (
            _request_thread.get().used
            or not _all_of(sync_receivers, THREAD_CONNECTION_RECEIVERS | CONTEXT_RECEIVERS)
            or any(request is None or closer != request.close for closer in closers)
        ):
            if response is None:
                await signals.request_finished.asend(sender=self.__class__)
            else:
                await sync_to_async(response.close)()
            return
        if response is not None:
            for close in closers:
                close()
            closers.clear()
            response.closed = True
        for receiver in sync_receivers:
            if receiver in CONTEXT_RECEIVERS:
                receiver(signal=signals.request_finished, sender=self.__class__)
        await _sent_to(async_receivers, signals.request_finished, self.__class__)

    def close_idle_threads(self) -> None:
        self.idle_threads.close_all()


def _all_of(receivers: list, known: frozenset) -> bool:
    return all(receiver in known for receiver in receivers)


async def _sent_to(async_receivers: list, signal: Signal, sender, **named) -> None:
    await asyncio.gather(*(receiver(signal=signal, sender=sender, **named) for receiver in async_receivers))
