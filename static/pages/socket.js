// The page's one connection to /ws/ (session cookie auth): JSON frames {event, data, ref?},
// automatic reconnection with capped, jittered back-off, and a status the page can show.

const CLOSE_UNAUTHENTICATED = 4401;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;

export class RealtimeSocket {
  constructor({ path = "/ws/", onStatus = () => {} } = {}) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.url = `${scheme}//${location.host}${path}`;
    this.onStatus = onStatus;
    this.handlers = new Map();
    this.openHandlers = [];
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.stopped = false;
    window.addEventListener("offline", () => this.dropForOffline());
    window.addEventListener("online", () => this.reconnectNow());
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
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
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
    this.setStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => {
      if (ws !== this.ws) return;
      this.attempt = 0;
      this.setStatus("connected");
      for (const handler of this.openHandlers) handler();
    });
    ws.addEventListener("message", (message) => this.dispatch(message.data));
    ws.addEventListener("close", (closed) => {
      if (ws !== this.ws) return;
      this.ws = null;
      if (closed.code === CLOSE_UNAUTHENTICATED) {
        this.stopped = true;
        this.setStatus("signed-out");
        return;
      }
      // Every other close (a network loss, a server restart, 4408 "too slow") reconnects, and the
      // open handlers join again with `after`: nothing the socket dropped is lost.
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
    if (this.stopped || this.retryTimer !== null) return;
    this.setStatus(navigator.onLine === false ? "offline" : "reconnecting");
    const ceiling = Math.min(BACKOFF_FIRST_MS * 2 ** this.attempt, BACKOFF_MAX_MS);
    this.attempt += 1;
    // Jitter spreads a crowd of clients that lost the same server.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  // The browser knows before TCP does: close at once rather than wait for a dead socket to time out.
  dropForOffline() {
    this.closeCurrent();
    this.setStatus("offline");
    this.attempt = Math.max(this.attempt, 1);
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
    if (this.stopped || this.isOpen) return;
    if (this.ws !== null && this.ws.readyState === WebSocket.CONNECTING) return;
    this.attempt = Math.max(this.attempt, 1);
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
