// The socket's reconnect policy, and the page socket following it against a stand-in WebSocket.

import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { CLOSE } from "../../static/pages/protocol.js";
import { BACKOFF_FIRST_MS, BACKOFF_MAX_MS, ReconnectPolicy } from "../../static/pages/reconnect.js";
import { RealtimeSocket } from "../../static/pages/socket.js";

// ---- the policy ----------------------------------------------------------------------------

test("the wait doubles per attempt, between half and all of its ceiling, up to the cap", () => {
  const lowest = new ReconnectPolicy({ random: () => 0 });
  const highest = new ReconnectPolicy({ random: () => 1 });
  const ceilings = [BACKOFF_FIRST_MS, 2 * BACKOFF_FIRST_MS, 4 * BACKOFF_FIRST_MS];
  for (const ceiling of ceilings) {
    assert.equal(lowest.nextDelay(), ceiling / 2);
    assert.equal(highest.nextDelay(), ceiling);
  }
  for (let attempt = 0; attempt < 20; attempt += 1) highest.nextDelay();
  assert.equal(highest.nextDelay(), BACKOFF_MAX_MS);
});

test("a connection that opens starts the back-off over", () => {
  const policy = new ReconnectPolicy({ random: () => 1 });
  policy.nextDelay();
  policy.nextDelay();
  policy.opened();
  assert.equal(policy.isComeback, false);
  assert.equal(policy.nextDelay(), BACKOFF_FIRST_MS);
});

test("every close but 4401 reconnects", () => {
  for (const code of [1000, 1001, 1006, 1012, 4403, 4408]) {
    assert.equal(new ReconnectPolicy().closed(code), true, `close code ${code}`);
  }
});

test("a 4401 close (signed out) stops reconnecting for good", () => {
  const policy = new ReconnectPolicy();
  assert.equal(policy.closed(CLOSE.UNAUTHENTICATED), false);
  assert.equal(policy.closed(1006), false);
  assert.equal(policy.stopped, true);
});

test("a network interruption makes the next connection a comeback", () => {
  const policy = new ReconnectPolicy();
  assert.equal(policy.isComeback, false);
  policy.interrupted();
  assert.equal(policy.isComeback, true);
});

// ---- the page socket with it ---------------------------------------------------------------

class FakeWebSocket extends EventTarget {
  static made = [];

  constructor(url) {
    super();
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeWebSocket.made.push(this);
  }

  send(text) {
    this.sent.push(JSON.parse(text));
  }

  close() {
    this.readyState = 3;
  }

  // What the server and the network do to it:
  open() {
    this.readyState = 1;
    this.dispatchEvent(new Event("open"));
  }

  receive(frame) {
    const message = new Event("message");
    message.data = typeof frame === "string" ? frame : JSON.stringify(frame);
    this.dispatchEvent(message);
  }

  drop(code) {
    this.readyState = 3;
    const closed = new Event("close");
    closed.code = code;
    this.dispatchEvent(closed);
  }
}

function pageSocket() {
  FakeWebSocket.made = [];
  const statuses = [];
  const network = new EventTarget();
  network.navigator = { onLine: true };
  const socket = new RealtimeSocket({
    url: "ws://testserver/ws/",
    onStatus: (state) => statuses.push(state),
    policy: new ReconnectPolicy({ random: () => 1 }),
    WebSocketClass: FakeWebSocket,
    network,
  });
  const current = () => FakeWebSocket.made.at(-1);
  return { socket, statuses, network, current };
}

beforeEach((t) => t.mock.timers.enable({ apis: ["setTimeout"] }));

test("a dropped connection comes back after the back-off and runs the open handlers again", (t) => {
  const { socket, statuses, current } = pageSocket();
  let opens = 0;
  socket.onOpen(() => (opens += 1));
  socket.connect();
  current().open();
  current().drop(1006);
  assert.equal(socket.state, "reconnecting");
  t.mock.timers.tick(BACKOFF_FIRST_MS - 1);
  assert.equal(FakeWebSocket.made.length, 1);
  t.mock.timers.tick(1);
  assert.equal(FakeWebSocket.made.length, 2);
  current().open();
  assert.equal(opens, 2);
  assert.deepEqual(statuses, ["connecting", "connected", "reconnecting", "reconnecting", "connected"]);
});

test("a 4401 close shows signed-out and never reconnects", (t) => {
  const { socket, current } = pageSocket();
  socket.connect();
  current().open();
  current().drop(CLOSE.UNAUTHENTICATED);
  t.mock.timers.tick(BACKOFF_MAX_MS * 10);
  assert.equal(socket.state, "signed-out");
  assert.equal(FakeWebSocket.made.length, 1);
});

test("going offline closes at once; coming back online reconnects without waiting", () => {
  const { socket, network, current } = pageSocket();
  socket.connect();
  const first = current();
  first.open();
  network.navigator.onLine = false;
  network.dispatchEvent(new Event("offline"));
  assert.equal(first.readyState, 3);
  assert.equal(socket.state, "offline");
  network.navigator.onLine = true;
  network.dispatchEvent(new Event("online"));
  assert.equal(FakeWebSocket.made.length, 2);
  assert.equal(socket.state, "reconnecting");
});

test("a refused subscription reconnects after the delay the server asked for", (t) => {
  const { socket, current } = pageSocket();
  socket.connect();
  current().open();
  socket.reconnectAfter(3000);
  t.mock.timers.tick(2999);
  assert.equal(FakeWebSocket.made.length, 1);
  t.mock.timers.tick(1);
  assert.equal(FakeWebSocket.made.length, 2);
});

test("frames reach the handlers of their event; text that is not JSON is ignored", () => {
  const { socket, current } = pageSocket();
  const heard = [];
  socket.on("message:new", (data, frame) => heard.push([data, frame.ref]));
  socket.connect();
  current().open();
  current().receive("not json");
  current().receive({ event: "message:new", data: { id: 1 }, ref: "r" });
  current().receive({ event: "conversation:typing", data: {} });
  assert.deepEqual(heard, [[{ id: 1 }, "r"]]);
});

test("a frame is sent only while the connection is open", () => {
  const { socket, current } = pageSocket();
  socket.connect();
  assert.equal(socket.send("join", { conversationId: 1 }), false);
  current().open();
  assert.equal(socket.send("join", { conversationId: 1 }, "join"), true);
  assert.deepEqual(current().sent, [{ event: "join", data: { conversationId: 1 }, ref: "join" }]);
});
