"""The registry the socket session dispatches client frames through: each event to the app handler that
serves it, within a per-user rate. (What a socket does on a pushed event is ``realtime.session.socket_effect``.)

Each app registers in its ``socket_handlers`` module (imported from ``AppConfig.ready``). A handler gets the
consumer and the frame's data, and returns the reply's data or ``None``.
"""

from collections.abc import Awaitable, Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from kernel.errors import RateLimited
from kernel.ratelimit import Rate, rate_spend_async

SocketHandler = Callable[..., Awaitable[dict | None]]

_handlers: dict[str, SocketHandler] = {}


def socket_handler(event: str, *, rate: str = "default") -> Callable[[SocketHandler], SocketHandler]:
    """Serve client frames named ``event``, at most ``settings.SOCKET_RATES[rate]`` per user.

    The count is per user and event across all of the user's sockets and every server process. A frame
    beyond it does nothing: the client gets a ``rate_limited`` error with ``retryAfter``.
    """
    _rate_of(rate)  # a missing or malformed rate stops the start-up, not the first frame

    def register(func: SocketHandler) -> SocketHandler:
        if event in _handlers:
            raise RuntimeError(f"Socket event {event!r} already has a handler")

        async def within_rate(consumer, data: dict) -> dict | None:
            retry_after = await rate_spend_async(scope=f"socket:{event}", ident=consumer.user.pk, rate=_rate_of(rate))
            if retry_after is not None:
                raise RateLimited(f"Too many {event!r} frames; try again in {retry_after} s.", retry_after=retry_after)
            return await func(consumer, data)

        _handlers[event] = within_rate
        return func

    return register


def _rate_of(name: str) -> Rate:
    try:
        return Rate.parse(settings.SOCKET_RATES[name])
    except (KeyError, ValueError) as exc:
        raise ImproperlyConfigured(f"SOCKET_RATES[{name!r}]: {exc}") from exc


def handler_for(event: str) -> SocketHandler | None:
    return _handlers.get(event)


def registered_events() -> list[str]:
    return sorted(_handlers)
