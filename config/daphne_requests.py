"""Daphne's requests leave form bodies to Django.

Twisted, under daphne, parses every POST form body into ``request.args``, which daphne never reads (it
hands the raw body to the ASGI application), and answers a multipart body its own parser rejects with
an empty 400 before Django, which parses it, ever sees it: an empty multipart form, or field names
outside ASCII (twisted/twisted#9739, django/daphne#447). The API's answer to such a body is Django's:
a JSON 400 naming the missing fields, or the upload itself.
"""

import sys


def leave_form_bodies_to_django() -> None:
    """Turn Twisted's form parsing off in daphne's request class, when this process is daphne."""
    http_protocol = sys.modules.get("daphne.http_protocol")
    if http_protocol is None:
        return
    web_request_init = http_protocol.WebRequest.__init__

    def __init__(self, *args, **kwargs):
        web_request_init(self, *args, **kwargs)
        # Read when the body has arrived (Request.requestReceived); unused by Twisted releases without it.
        self._parsePOSTFormSubmission = False

    http_protocol.WebRequest.__init__ = __init__
