// The page's one connection to /ws/ (session cookie auth): JSON frames {event, data, ref?},
// reconnection after every close but the signed-out one (the policy in reconnect.js), and a status
// the page can show.

import { ReconnectPolicy } from "./reconnect.js";

export function pageSocketUrl(path = "/ws/") {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

const OPEN = 1; // WebSocket.OPEN
const CONNECTING = 0; // WebSocket.CONNECTING

export class RealtimeSocket {
  // `network` is where the browser announces online / offline; tests pass their own socket class and network.
  constructor({
    url = pageSocketUrl(),
    onStatus = () => {},
    policy = new ReconnectPolicy(),
    WebSocketClass = WebSocket,
    network = window,
  } = {}) {
    this.url = url;
    this.onStatus = onStatus;
    this.policy = policy;
    this.WebSocketClass = WebSocketClass;
    this.network = network;
    this.handlers = new Map();
    this.openHandlers = [];
    this.ws = null;
    this.retryTimer = null;
    network.addEventListener("offline", () => this.dropForOffline());
    network.addEventListener("online", () => this.reconnectNow());
  }

  on(event, handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, []);
    this.handlers.get(event).push(handler);
    return this;
  }

  // Runs on every (re)connection: where a page joins its groups and catches up.
  onOpen(handler) {
    this.openHandlers.push(handler);
    return this;
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === OPEN;
  }

  send(event, data, ref) {
    if (!this.isOpen) return false;
    const frame = ref === undefined ? { event, data } : { event, data, ref };
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.setStatus(this.policy.isComeback ? "reconnecting" : "connecting");
    const ws = new this.WebSocketClass(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (ws !== this.ws) return;
      this.policy.opened();
      this.setStatus("connected");
      for (const handler of this.openHandlers) handler();
    });
    ws.addEventListener("message", (message) => this.dispatch(message.data));
    ws.addEventListener("close", (closed) => {
      if (ws !== this.ws) return;
      this.ws = null;
      if (!this.policy.closed(closed.code)) {
        this.setStatus("signed-out");
        return;
      }
      // The open handlers join again with `after`: nothing the socket dropped is lost.
      this.scheduleReconnect();
    });
  }

  // Drop this connection and open another after `delayMs` (or the usual back-off): for a page whose
  // subscription the server refused, while the socket itself is still fine.
  reconnectAfter(delayMs) {
    this.closeCurrent();
    if (delayMs === undefined) {
      this.scheduleReconnect();
      return;
    }
    clearTimeout(this.retryTimer);
    this.setStatus("reconnecting");
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delayMs);
  }

  dispatch(raw) {
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    for (const handler of this.handlers.get(frame.event) || []) handler(frame.data || {}, frame);
  }

  scheduleReconnect() {
    if (this.policy.stopped || this.retryTimer !== null) return;
    this.setStatus(this.isOffline ? "offline" : "reconnecting");
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, this.policy.nextDelay());
  }

  get isOffline() {
    return this.network.navigator?.onLine === false;
  }

  // The browser knows before TCP does: close at once rather than wait for a dead socket to time out.
  dropForOffline() {
    this.closeCurrent();
    this.setStatus("offline");
    this.policy.interrupted();
    this.scheduleReconnect();
  }

  // Forgotten first, so its close event schedules nothing.
  closeCurrent() {
    if (this.ws !== null) {
      const ws = this.ws;
      this.ws = null;
      ws.close();
    }
  }

  reconnectNow() {
    if (this.policy.stopped || this.isOpen) return;
    if (this.ws !== null && this.ws.readyState === CONNECTING) return;
    this.policy.interrupted();
    this.connect();
  }

  setStatus(state) {
    this.state = state;
    this.onStatus(state);
  }
}

const STATUS_TEXT = {
  connecting: "Connecting…",
  connected: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline — will reconnect when the network is back",
  "signed-out": "Signed out — log in again to see new messages",
};

export function showConnectionStatus(element) {
  return (state) => {
    element.dataset.state = state;
    element.textContent = STATUS_TEXT[state] || state;
  };
}
