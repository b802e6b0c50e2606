"""Django's ASGI handler with reused request threads (kernel/asgi_handler.py): a request's sync code runs on
one thread, which later requests reuse instead of starting new ones; concurrent requests never share one;
each request's database connection is closed at its end, so none is held between requests; a request that runs
nothing on its thread (an async view) does not hop to it for the request's signals."""

import asyncio
import hashlib
import inspect
import io
import threading
from concurrent.futures import Future

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.testing import HttpCommunicator
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished, request_started
from django.db import connection, connections
from django.http import FileResponse, JsonResponse
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


async def loop_view(request):
    """An async view, as the send is: it runs nothing on the request's thread."""
    return JsonResponse({})


async def file_view(request):
    return FileResponse(opened_files[-1])


def connection_at_view_view(request):
    """Whether the thread's connection was still open when the view began."""
    return JsonResponse({"open": connection.connection is not None})


opened_files: list[io.BytesIO] = []

urlpatterns = [
    path("query", querying_view),
    path("meet", meeting_view),
    path("loop", loop_view),
    path("file", file_view),
    path("connection-at-view", connection_at_view_view),
]


@pytest.fixture
def handler():
    view_threads.clear()
    handler = ReusedThreadASGIHandler()
    yield handler
    handler.close_idle_threads()


async def _get(handler, path_: str) -> int:
    return (await _response(handler, path_))["status"]


async def _response(handler, path_: str) -> dict:
    communicator = HttpCommunicator(handler, "GET", path_, headers=[(b"host", b"127.0.0.1")])
    response = await communicator.get_response(timeout=15)
    await communicator.wait()  # the handler's response.close(), and request_finished, come after the body
    return response


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


# ---- the request's signals ------------------------------------------------------------------------------

# The sha256 of Django 5.2's ASGIHandler.handle, which ReusedThreadASGIHandler.handle follows.
DJANGOS_HANDLE_SHA256 = "98faeb5bef800331e6a8002fbc96b30e4122a23438ae45a047190a531ea11323"


def test_the_handlers_handle_follows_djangos_as_read():
    """Django's changed: read it again, carry its change into ReusedThreadASGIHandler.handle, then update the hash."""
    source = inspect.getsource(ASGIHandler.handle).encode()

    assert hashlib.sha256(source).hexdigest() == DJANGOS_HANDLE_SHA256


async def test_a_request_that_never_uses_its_thread_does_not_hop_to_it(handler, hops):
    await _get(handler, "/loop")  # warm: the thread is idle in the pool
    hops.clear()

    assert await _get(handler, "/loop") == 200
    assert hops == []


async def test_a_request_that_uses_its_thread_closes_its_connection_there_at_its_end(handler, hops):
    requires_postgres()
    assert await _get(handler, "/query") == 200

    assert "HttpResponseBase.close" in hops
    assert _in_the_idle_thread(handler, lambda: connections["default"].connection) is None


async def test_request_started_closes_a_stale_connection_on_the_thread_before_the_requests_first_call(handler):
    requires_postgres()
    await _get(handler, "/loop")
    _in_the_idle_thread(handler, lambda: connection.ensure_connection())  # left open, as a persistent one is

    assert await _get(handler, "/loop") == 200
    assert _in_the_idle_thread(handler, lambda: connection.connection) is not None  # untouched: nothing ran there
    response = await _response(handler, "/connection-at-view")

    assert response["status"] == 200
    assert response["body"] == b'{"open": false}'  # CONN_MAX_AGE is 0: request_started's receiver closed it first


async def test_another_apps_receivers_run_on_the_requests_thread_as_with_djangos_handler(handler, hops):
    ran_on: list[tuple[str, int]] = []

    def started(**kwargs):
        ran_on.append(("started", threading.get_ident()))

    def finished(**kwargs):
        ran_on.append(("finished", threading.get_ident()))

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        assert await _get(handler, "/loop") == 200
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)

    assert [name for name, _ in ran_on] == ["started", "finished"]
    assert len({thread for _, thread in ran_on}) == 1
    assert ran_on[0][1] != threading.get_ident()
    assert hops == ["Signal.asend.<locals>.sync_send", "HttpResponseBase.close"]


# A BytesIO is a sync iterator, which Django's handler reads on a thread with this warning: the point here.
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
async def test_a_response_with_a_file_to_close_closes_it_on_the_requests_thread(handler, hops):
    opened_files.append(io.BytesIO(b"attached"))

    status, body = await _streamed(handler, "/file")

    assert (status, body) == (200, b"attached")
    assert opened_files[-1].closed
    assert hops[-1] == "HttpResponseBase.close"  # after Django's own hop to read a sync file's chunks


async def _streamed(handler, path_: str) -> tuple[int, bytes]:
    """A streaming response's status and body (HttpCommunicator reads only a response sent whole)."""
    communicator = ApplicationCommunicator(
        handler,
        {
            "type": "http",
            "http_version": "1.1",
            "method": "GET",
            "path": path_,
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1")],
        },
    )
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout=15)
    body = b""
    while True:
        part = await communicator.receive_output(timeout=15)
        body += part.get("body", b"")
        if not part.get("more_body"):
            break
    await communicator.wait()
    return start["status"], body
