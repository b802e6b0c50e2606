"""Signal handlers: each a one-line call into the tracker."""

from presence import tracker


async def socket_opened(sender, *, user_id: int, channel_name: str, **kwargs) -> None:
    await tracker.presence_socket_opened(user_id, channel_name)


async def socket_closed(sender, *, channel_name: str, **kwargs) -> None:
    await tracker.presence_socket_closed(channel_name)
