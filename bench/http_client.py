"""A minimal asyncio HTTP/1.1 keep-alive client for the load generator.

It spends a small fraction of what httpx spends per request, which matters on a 2-core machine
where every cycle the load generator burns is taken from the servers being measured.
"""

import asyncio
import time
from urllib.parse import urlsplit

# Servers close idle keep-alive connections (uvicorn after 5 s): reusing one they are closing
# fails the request, so idle connections are dropped well before that.
IDLE_REUSE_SECONDS = 2.0


class HttpProtocolError(Exception):
    pass


class HttpConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.reusable = True
        self.idle_since = time.monotonic()

    @classmethod
    async def open(cls, host: str, port: int) -> "HttpConnection":
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        self.writer.write(head + body)
        status_line, _, header_block = (await self.reader.readuntil(b"\r\n\r\n")).partition(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise HttpProtocolError(f"bad status line {status_line!r}")
        headers = {}
        for line in header_block.split(b"\r\n"):
            name, sep, value = line.partition(b":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if headers.get(b"connection", b"").lower() == b"close":
            self.reusable = False
        if b"content-length" in headers:
            content = await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            content = await self._read_chunked()
        else:
            self.reusable = False
            content = await self.reader.read()
        return int(parts[1]), content

    async def _read_chunked(self) -> bytes:
        chunks = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await self.reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                return b"".join(chunks)
            chunks.append((await self.reader.readexactly(size + 2))[:-2])

    def close(self) -> None:
        self.reusable = False
        self.writer.close()


class HttpPool:
    """Idle keep-alive connections to one server; the caller bounds how many requests are in flight."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        fixed = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        self._fixed_headers = "".join(f"{name}: {value}\r\n" for name, value in fixed.items()).encode()
        self._idle: list[HttpConnection] = []

    async def warm(self, count: int) -> None:
        opened = [await HttpConnection.open(self.host, self.port) for _ in range(count)]
        self._idle.extend(opened)

    async def request(
        self, method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nContent-Length: {len(body)}\r\n".encode()
            + self._fixed_headers
            + "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items()).encode()
            + b"\r\n"
        )
        connection = await self._connection()
        try:
            result = await connection.request(head, body)
        except BaseException:
            connection.close()
            raise
        if connection.reusable:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()
        return result

    async def _connection(self) -> HttpConnection:
        while self._idle:
            connection = self._idle.pop()
            if not connection.reader.at_eof() and time.monotonic() - connection.idle_since < IDLE_REUSE_SECONDS:
                return connection
            connection.close()
        return await HttpConnection.open(self.host, self.port)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
