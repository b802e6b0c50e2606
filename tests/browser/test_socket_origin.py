"""A page on another port of the same host cannot use the signed-in user's session on our socket: Chromium
sends the session cookie with its handshake (cookies ignore ports), and the server closes it with 4401."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from realtime.consumers import CLOSE_UNAUTHENTICATED

pytestmark = [pytest.mark.browser]

# Open /ws/ at the given URL, ask to join, and answer with the first thing that comes back.
JOIN_FROM_THIS_PAGE = """([url, frame]) => new Promise((resolve) => {
  const ws = new WebSocket(url);
  ws.onopen = () => ws.send(frame);
  ws.onmessage = (event) => resolve({frame: JSON.parse(event.data)});
  ws.onclose = (event) => resolve({closed: event.code});
})"""


class _BlankPage(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><title>another site on this host</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def page_on_another_port():
    """A real page on another loopback port (Chromium blocks a page it cannot place from reaching the loopback)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BlankPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


def _join_from(visitor, page_url: str, conversation_id: int) -> dict:
    ws_url = visitor.base_url.replace("http://", "ws://") + "/ws/"
    frame = json.dumps({"event": "join", "data": {"conversationId": conversation_id}, "ref": "join"})
    visitor.page.goto(page_url)
    return visitor.page.evaluate(JOIN_FROM_THIS_PAGE, [ws_url, frame])


def test_a_page_of_the_site_joins_with_the_session(client_user, conversation, visit):
    visitor = visit(client_user)

    answer = _join_from(visitor, "/", conversation.pk)

    assert answer["frame"]["event"] == "join"


def test_a_page_on_another_port_of_the_host_is_closed_with_4401(client_user, conversation, visit, page_on_another_port):
    visitor = visit(client_user)

    answer = _join_from(visitor, page_on_another_port, conversation.pk)

    assert answer == {"closed": CLOSE_UNAUTHENTICATED}
