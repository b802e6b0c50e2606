"""Daphne's requests leave form bodies to Django, and hold bodies to their path's limit as they arrive.

Twisted, under daphne, parses every POST form body into ``request.args``, which daphne never reads (it
hands the raw body to the ASGI application), and answers a multipart body its own parser rejects with
an empty 400 before Django, which parses it, ever sees it: an empty multipart form, or field names
outside ASCII (twisted/twisted#9739, django/daphne#447). The API's answer to such a body is Django's:
a JSON 400 naming the missing fields, or the upload itself.

Twisted also writes a whole body to a temporary file (past 100,000 bytes) before daphne calls the
application at all, whatever its size: ``config.body_limits`` comes too late under daphne. Here the
same limits are applied to the ``Content-Length`` as soon as the headers are in, and to the bytes of a
chunked body as they arrive; past the limit daphne answers the same 413 and closes the connection.
Unlike uvicorn's, an upload from a caller without valid credentials is still read (up to its limit)
before the 401: checking them needs the database, which Twisted's thread must not wait for.
"""

import sys
from urllib.parse import unquote

from config.body_limits import body_limit, too_large_refusal


def adapt_daphne_requests() -> None:
    """Patch daphne's request class, when this process is daphne."""
    http_protocol = sys.modules.get("daphne.http_protocol")
    if http_protocol is None:
        return
    request_class = http_protocol.WebRequest
    web_request_init = request_class.__init__
    got_length = request_class.gotLength
    handle_content_chunk = request_class.handleContentChunk
    request_received = request_class.requestReceived

    def __init__(self, *args, **kwargs):
        web_request_init(self, *args, **kwargs)
        # Read when the body has arrived (Request.requestReceived); unused by Twisted releases without it.
        self._parsePOSTFormSubmission = False
        self.body_limit = None
        self.body_bytes = 0
        self.body_refused = False

    def gotLength(self, length):
        # Called once the headers are in; the request line is still the channel's.
        target = self.channel._path.split(b"?", 1)[0].decode("latin-1")
        content_type = (self.requestHeaders.getRawHeaders(b"content-type") or [b""])[0].decode("latin-1")
        self.body_limit = body_limit(
            method=self.channel._command.decode("latin-1"), path=unquote(target), content_type=content_type
        )
        if length is not None and length > self.body_limit.max_bytes:
            _refuse(self)
            length = 0
        got_length(self, length)

    def handleContentChunk(self, data):
        if self.body_refused:
            return
        self.body_bytes += len(data)
        if self.body_bytes > self.body_limit.max_bytes:
            _refuse(self)
            return
        handle_content_chunk(self, data)

    def requestReceived(self, command, path, version):
        # What was already read past the refusal completes the request; it is not served.
        if not self.body_refused:
            request_received(self, command, path, version)

    request_class.__init__ = __init__
    request_class.gotLength = gotLength
    request_class.handleContentChunk = handleContentChunk
    request_class.requestReceived = requestReceived


def _refuse(request) -> None:
    """Write the 413 straight to the connection (no response has begun: the request is still being
    received) and close it, which also stops reading from the client."""
    request.body_refused = True
    # Twisted would otherwise answer "100 Continue" after the 413.
    request.requestHeaders.removeHeader(b"expect")
    status, headers, body = too_large_refusal(request.body_limit)
    head = b"HTTP/1.1 %d Request Entity Too Large\r\n" % status
    head += b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    request.channel.transport.write(head + b"\r\n" + body)
    request.channel.loseConnection()
