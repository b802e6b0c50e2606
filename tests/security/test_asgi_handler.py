"""Django's ASGI handler with reused request threads (kernel/asgi_handler.py): a request's sync code runs on
one thread, which later requests reuse instead of starting new ones; concurrent requests never share one;
each request's database connection is closed at its end, so none is held between requests."""

import asyncio
import threading
from concurrent.futures import Future

import pytest
from channels.testing import HttpCommunicator
from django.core.signals import request_finished
from django.db import connection, connections
from django.http import JsonResponse
from django.urls import path

from bench.send_micro import threads_started
from kernel.asgi_handler import IdleThreads, ReusedThreadASGIHandler
from tests.conftest import requires_postgres

# The URLs are set for the whole test, not per request: two concurrent requests' overrides would end out of
# order and leave one in place for the tests that follow.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]

view_threads: list[int] = []
both_in_their_views = threading.Barrier(2, timeout=10)


def querying_view(request):
    """A sync view, as DRF's are, that reaches the database."""
    view_threads.append(threading.get_ident())
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({})


def meeting_view(request):
    """Answers only once another request is in this view too (a deadlock guard times out, never a figure)."""
    view_threads.append(threading.get_ident())
    both_in_their_views.wait()
    return JsonResponse({})


urlpatterns = [path("query", querying_view), path("meet", meeting_view)]


@pytest.fixture
def handler():
    view_threads.clear()
    handler = ReusedThreadASGIHandler()
    yield handler
    handler.close_idle_threads()


async def _get(handler, path_: str) -> int:
    communicator = HttpCommunicator(handler, "GET", path_, headers=[(b"host", b"127.0.0.1")])
    response = await communicator.get_response(timeout=15)
    await communicator.wait()  # the handler's response.close(), and request_finished, come after the body
    return response["status"]


def _in_the_idle_thread(handler, func):
    """``func()`` run on the handler's one idle thread, as its next request would run there."""
    assert len(handler.idle_threads) == 1
    thread = handler.idle_threads.take()
    try:
        return thread.submit(func).result()
    finally:
        handler.idle_threads.give_back(thread)


def _stopped(thread) -> bool:
    try:
        thread.submit(lambda: None).result()
    except RuntimeError:  # cannot schedule new futures after shutdown
        return True
    return False


async def test_a_request_and_its_end_run_on_one_thread_which_the_next_request_reuses(handler):
    finished_on: list[int] = []

    def note_thread(**kwargs):
        finished_on.append(threading.get_ident())

    request_finished.connect(note_thread)
    try:
        statuses = [await _get(handler, "/query"), await _get(handler, "/query")]
    finally:
        request_finished.disconnect(note_thread)

    assert statuses == [200, 200]
    assert len(set(view_threads + finished_on)) == 1
    assert view_threads[0] != threading.get_ident()


async def test_no_thread_is_started_per_request_once_warm(handler):
    await _get(handler, "/query")

    with threads_started() as started:
        for _ in range(5):
            await _get(handler, "/query")

    assert started[0] == 0


async def test_concurrent_requests_run_on_threads_of_their_own(handler):
    await _get(handler, "/query")  # one idle thread, which only one of the two may take

    statuses = await asyncio.gather(_get(handler, "/meet"), _get(handler, "/meet"))

    assert statuses == [200, 200]
    assert len(set(view_threads[1:])) == 2
    assert len(handler.idle_threads) == 2


async def test_a_request_closes_its_database_connection_at_its_end(handler, monkeypatch):
    closed_on: list[int] = []
    close = type(connections["default"]).close

    def noted_close(self):
        closed_on.append(threading.get_ident())
        close(self)

    monkeypatch.setattr(type(connections["default"]), "close", noted_close)
    await _get(handler, "/query")

    # Django closes it when the request finishes (an in-memory SQLite test database ignores the close).
    assert view_threads[0] in closed_on


async def test_no_database_connection_is_held_between_requests(handler):
    requires_postgres()
    await _get(handler, "/query")

    assert _in_the_idle_thread(handler, lambda: connections["default"].connection) is None


def test_close_idle_threads_closes_their_connections_and_stops_them():
    idle = IdleThreads()
    thread = idle.take()
    thread.submit(lambda: connection.ensure_connection()).result()
    idle.give_back(thread)

    idle.close_all()

    assert len(idle) == 0
    assert _stopped(thread)


def test_idle_threads_are_kept_up_to_the_limit():
    idle = IdleThreads(limit=2)
    threads = [idle.take() for _ in range(3)]
    for thread in threads:
        idle.give_back(thread)

    assert len(idle) == 2
    assert _stopped(threads[2])
    idle.close_all()


def test_a_thread_still_running_a_call_is_not_reused():
    """A request cancelled by a disconnect can leave a call running: the next request must not wait behind it."""
    idle = IdleThreads()
    thread = idle.take()
    release: Future = Future()
    running = thread.submit(release.result)

    idle.give_back(thread)
    release.set_result(None)
    running.result()

    assert len(idle) == 0
    assert _stopped(thread)
