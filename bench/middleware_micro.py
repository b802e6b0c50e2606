"""What the middleware stack costs per request under ASGI: ``python -m bench.middleware_micro [--requests N]``.

In-process, through Django's ASGI handler, to a trivial async view that reads a Bearer JWT without a query
(as an async API view does), behind: no middleware, Django's stock classes (today's stack before issue 15)
and the async-native stack of kernel/async_middleware.py (``settings.MIDDLEWARE``). A GET and a JSON POST
to the send path (which also takes and frees a send slot). Prints, per request: wall time, process CPU time
(all threads) and the calls into ``sync_to_async``, the median of several rounds. No database, no network.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from asgiref.sync import SyncToAsync  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from rest_framework_simplejwt.models import TokenUser  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

# Django's stock classes where settings.MIDDLEWARE has kernel.async_middleware's; ours as they are now.
STOCK_MIDDLEWARE = [
    "realtime.admission.SendAdmissionMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.security_headers.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.security_headers.PrivateResponsesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROUNDS = 9


@csrf_exempt  # as the API's views are
async def trivial_api_view(request):
    request.user = TokenUser(AccessToken(request.headers["Authorization"].removeprefix("Bearer ")))
    return JsonResponse({"user": request.user.id})


urlpatterns = [path("api/messages", trivial_api_view, name="message-list")]


def asgi_scope(method: str, token: str) -> dict:
    """An HTTP scope for ``/api/messages`` as a server hands it over: a Bearer JWT, a JSON body."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/api/messages",
        "raw_path": b"/api/messages",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def asgi_request(handler, scope: dict, body: bytes) -> int:
    """One request through an ASGI application, as a server would run it; its status."""
    never = asyncio.get_running_loop().create_future()
    messages = iter([{"type": "http.request", "body": body, "more_body": False}])
    status = 0

    async def receive():
        return next(messages, None) or await never

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await handler(scope, receive, send)
    return status


async def _round(handler: ASGIHandler, scope: dict, body: bytes, requests: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        assert await asgi_request(handler, scope, body) == 200
    return (time.perf_counter() - wall) * 1000 / requests, (time.process_time() - cpu) * 1000 / requests


def _hops_per_request(handler: ASGIHandler, scope: dict, body: bytes) -> int:
    hops = 0
    hop = SyncToAsync.__call__

    async def counted_hop(self, *args, **kwargs):
        nonlocal hops
        hops += 1
        return await hop(self, *args, **kwargs)

    SyncToAsync.__call__ = counted_hop  # type: ignore[method-assign]
    try:
        asyncio.run(asgi_request(handler, scope, body))
    finally:
        SyncToAsync.__call__ = hop  # type: ignore[method-assign]
    return hops


def measure(stacks: dict[str, list[str]], method: str, requests: int) -> dict[str, dict]:
    """Each stack's figures; the stacks take turns round by round, so a change in the machine's load
    reaches them all alike."""
    token = AccessToken()
    token["user_id"] = 1
    scope, body = asgi_scope(method, str(token)), b'{"content": "hi"}' if method == "POST" else b""
    # DEBUG off, as in production: with it on the handler also logs each sync adaptation.
    with override_settings(ROOT_URLCONF=__name__, DEBUG=False):
        handlers = {}
        for name, middleware in stacks.items():
            with override_settings(MIDDLEWARE=middleware):
                handlers[name] = ASGIHandler()
        rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in stacks}
        for handler in handlers.values():
            asyncio.run(_round(handler, scope, body, requests // 10))  # warm-up
        for _ in range(ROUNDS):
            for name, handler in handlers.items():
                rounds[name].append(asyncio.run(_round(handler, scope, body, requests)))
        return {
            name: {
                "wall_ms": statistics.median(wall for wall, _ in rounds[name]),
                "cpu_ms": statistics.median(cpu for _, cpu in rounds[name]),
                "hops": _hops_per_request(handler, scope, body),
            }
            for name, handler in handlers.items()
        }


def _row(method: str, stack: str, figures: dict, bare: dict | None = None) -> str:
    less_bare = (
        f"{figures['wall_ms'] - bare['wall_ms']:>11.3f} {figures['cpu_ms'] - bare['cpu_ms']:>10.3f}"
        if bare
        else f"{'':>11} {'':>10}"
    )
    return (
        f"{method:<6} {stack:<14} {figures['wall_ms']:>8.3f} {figures['cpu_ms']:>8.3f} {less_bare} {figures['hops']:>5}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.middleware_micro", description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help=f"requests per round ({ROUNDS} rounds)")
    requests = parser.parse_args().requests
    stacks = {"no middleware": [], "stock classes": STOCK_MIDDLEWARE, "async-native": list(settings.MIDDLEWARE)}
    print(f"median of {ROUNDS} rounds x {requests} requests; 'stack' columns: less the same request with no middleware")
    print(f"{'':<6} {'':<14} {'wall ms':>8} {'CPU ms':>8} {'stack wall':>11} {'stack CPU':>10} {'hops':>5}")
    for method in ("GET", "POST"):
        figures = measure(stacks, method, requests)
        bare = figures.pop("no middleware")
        print(_row(method, "no middleware", bare))
        for name, stack_figures in figures.items():
            print(_row(method, name, stack_figures, bare))


if __name__ == "__main__":
    main()
