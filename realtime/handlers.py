"""The registry that maps a client frame's event name to the app handler that serves it.

Each app registers its handlers in its ``consumers`` module (imported from ``AppConfig.ready``);
a handler gets the consumer and the frame's data, and returns the reply's data or ``None``.
"""

from collections.abc import Awaitable, Callable

SocketHandler = Callable[..., Awaitable[dict | None]]

_handlers: dict[str, SocketHandler] = {}


def socket_handler(event: str) -> Callable[[SocketHandler], SocketHandler]:
    def register(func: SocketHandler) -> SocketHandler:
        if event in _handlers:
            raise RuntimeError(f"Socket event {event!r} already has a handler")
        _handlers[event] = func
        return func

    return register


def handler_for(event: str) -> SocketHandler | None:
    return _handlers.get(event)


def registered_events() -> list[str]:
    return sorted(_handlers)
