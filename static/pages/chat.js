// A project's conversation: history by cursor, live messages over the socket, typing, read ticks,
// idempotent sends with retry, file messages, and catch-up by seq after a gap or a reconnect.
// Message content is only ever put into the page as text (textContent), never as HTML.

import { api, ApiError, newClientId } from "./api.js";

const TYPING_REPEAT_MS = 3000; // a typing client repeats isTyping=true this often
const TYPING_IDLE_MS = 4000; // ...and says it stopped after this long without a keystroke
const TYPING_EXPIRE_MS = 8000; // a receiver forgets a typist it has not heard from for this long
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30000;
const CATCH_UP_RETRY_MS = 2000;
const JOIN_REF = "join";
const NEAR_BOTTOM_PX = 80;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function formatBytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

export class Chat {
  constructor({ config, socket }) {
    this.me = config.me;
    this.conversationId = config.conversation.id;
    this.maxLength = config.messageMaxLength;
    this.socket = socket;
    this.urls = {
      history: `/api/messages/conversation/${this.conversationId}`,
      send: "/api/messages",
      read: `/api/messages/conversation/${this.conversationId}/read`,
    };
    this.el = {
      scroller: document.getElementById("message-scroller"),
      list: document.getElementById("messages"),
      loadEarlier: document.getElementById("load-earlier"),
      typing: document.getElementById("typing-indicator"),
      form: document.getElementById("composer"),
      input: document.getElementById("message-input"),
      fileInput: document.getElementById("file-input"),
      error: document.getElementById("composer-error"),
    };
    this.messages = new Map(); // id -> message, everything confirmed by the server
    this.idBySeq = new Map();
    this.pending = new Map(); // clientMessageId -> an unconfirmed send
    // Every seq up to contiguousSeq is held (or is older history we can scroll back to); a
    // message beyond contiguousSeq + 1 means the socket skipped some, and we fetch them by cursor.
    this.contiguousSeq = 0;
    this.newestSeq = 0;
    this.oldestId = null;
    this.hasEarlier = false;
    this.loadingEarlier = false;
    this.catchingUp = false;
    this.othersReadSeq = new Map(); // userId -> lastReadSeq
    this.myReadSeq = 0;
    this.marking = false;
    this.typists = new Map(); // userId -> {username, timer}
    this.typingSentAt = 0;
    this.typingIdleTimer = null;
    for (const participant of config.conversation.participants) {
      if (participant.user.id === this.me.id) this.myReadSeq = participant.lastReadSeq;
      else this.othersReadSeq.set(participant.user.id, participant.lastReadSeq);
    }
  }

  async start() {
    this.bindSocket();
    this.bindControls();
    await this.loadNewest();
  }

  // ---- socket -------------------------------------------------------------------------------

  bindSocket() {
    this.socket.onOpen(() => {
      this.clearTypists();
      this.socket.send("join", { conversationId: this.conversationId, after: this.anchorId() }, JOIN_REF);
      for (const entry of this.pending.values()) if (entry.retryable) this.deliver(entry);
    });
    // A refused join (its rate limit, Redis away for a moment) would leave the page "Live" but deaf:
    // come back when the server says, and join again with `after`.
    this.socket.on("error", (error, frame) => {
      if (frame.ref === JOIN_REF) this.socket.reconnectAfter(error.retryAfter ? error.retryAfter * 1000 : undefined);
    });
    this.socket.on("message:new", (message) => this.receive(message));
    this.socket.on("conversation:typing", (data) => this.onTyping(data));
    this.socket.on("message:read", (marker) => this.onReadMarker(marker));
    this.socket.on("conversation:read", (marker) => this.onReadMarker(marker));
  }

  // The id up to which we hold every message: what `join` and a gap's catch-up ask to resume after.
  anchorId() {
    return this.contiguousSeq === 0 ? 0 : this.idBySeq.get(this.contiguousSeq) ?? 0;
  }

  receive(message) {
    if (message.conversationId !== this.conversationId) return;
    const atBottom = this.isNearBottom();
    if (!this.store(message)) return;
    if (message.sender.id !== this.me.id) this.forgetTypist(message.sender.id);
    if (this.newestSeq > this.contiguousSeq) this.catchUp();
    if (atBottom || message.sender.id === this.me.id) this.scrollToBottom();
    this.markReadSoon();
  }

  async catchUp() {
    if (this.catchingUp) return;
    this.catchingUp = true;
    try {
      while (this.newestSeq > this.contiguousSeq) {
        const page = await api(`${this.urls.history}?after=${this.anchorId()}`);
        page.results.forEach((message) => this.store(message));
        if (page.results.length === 0) break;
      }
      this.markReadSoon();
    } catch (error) {
      setTimeout(() => this.catchUp(), CATCH_UP_RETRY_MS);
    } finally {
      this.catchingUp = false;
    }
  }

  // ---- history ------------------------------------------------------------------------------

  // Retries until it has the newest page: the socket joins with `after` only once there is an anchor.
  async loadNewest() {
    this.el.list.setAttribute("aria-busy", "true");
    for (;;) {
      try {
        const page = await api(this.urls.history);
        if (page.results.length) this.contiguousSeq = page.results[0].seq - 1;
        page.results.forEach((message) => this.store(message));
        this.setHasEarlier(page.hasMore);
        break;
      } catch (error) {
        this.showError(`Could not load the conversation (${error.message}); trying again…`);
        await new Promise((resolve) => setTimeout(resolve, CATCH_UP_RETRY_MS));
      }
    }
    this.showError("");
    this.el.list.removeAttribute("aria-busy");
    this.scrollToBottom();
    this.markReadSoon();
  }

  async loadEarlier() {
    if (this.loadingEarlier || !this.hasEarlier || this.oldestId === null) return;
    this.loadingEarlier = true;
    this.el.loadEarlier.disabled = true;
    this.el.list.setAttribute("aria-busy", "true");
    const scroller = this.el.scroller;
    const heightBefore = scroller.scrollHeight;
    try {
      const page = await api(`${this.urls.history}?before=${this.oldestId}`);
      page.results.forEach((message) => this.store(message));
      this.setHasEarlier(page.hasMore);
      scroller.scrollTop += scroller.scrollHeight - heightBefore; // keep the reader where they were
    } catch (error) {
      this.showError(`Could not load earlier messages: ${error.message}`);
    } finally {
      this.loadingEarlier = false;
      this.el.loadEarlier.disabled = false;
      this.el.list.removeAttribute("aria-busy");
    }
  }

  setHasEarlier(hasEarlier) {
    this.hasEarlier = hasEarlier;
    this.el.loadEarlier.hidden = !hasEarlier;
  }

  // ---- the message list ---------------------------------------------------------------------

  // Adds a confirmed message once (by id); returns whether it was new.
  store(message) {
    if (this.messages.has(message.id)) return false;
    this.messages.set(message.id, message);
    this.idBySeq.set(message.seq, message.id);
    this.newestSeq = Math.max(this.newestSeq, message.seq);
    while (this.idBySeq.has(this.contiguousSeq + 1)) this.contiguousSeq += 1;
    if (this.oldestId === null || message.id < this.oldestId) this.oldestId = message.id;

    const mine = message.sender.id === this.me.id;
    if (mine) this.myReadSeq = Math.max(this.myReadSeq, message.seq); // the server moves it too
    const entry = mine && message.clientMessageId ? this.pending.get(message.clientMessageId) : undefined;
    if (entry) {
      clearTimeout(entry.timer);
      this.pending.delete(message.clientMessageId);
    }
    const item = this.renderMessage(message, entry ? entry.item : document.createElement("li"));
    this.place(item, message.id);
    return true;
  }

  // Confirmed messages in id order; unconfirmed sends stay below them.
  place(item, id) {
    let next = null;
    for (let node = this.el.list.lastElementChild; node; node = node.previousElementSibling) {
      if (node === item) continue;
      if (node.classList.contains("unconfirmed") || Number(node.dataset.id) > id) next = node;
      else break;
    }
    if (item.nextElementSibling !== next || item.parentNode !== this.el.list) this.el.list.insertBefore(item, next);
  }

  renderMessage(message, item) {
    const mine = message.sender.id === this.me.id;
    item.replaceChildren();
    item.className = `message ${mine ? "mine" : "theirs"}`;
    item.dataset.id = message.id;
    item.dataset.seq = message.seq;
    if (message.clientMessageId) item.dataset.clientId = message.clientMessageId;
    const meta = element("div", "meta");
    meta.append(element("span", "sender", mine ? "You" : message.sender.username));
    const time = element("time", "", new Date(message.createdAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    time.dateTime = message.createdAt;
    time.title = new Date(message.createdAt).toLocaleString();
    meta.append(time);
    item.append(meta, this.renderBody(message));
    if (mine) {
      const receipt = element("span", "receipt");
      item.append(receipt);
      this.setReceipt(item, message.seq);
    }
    return item;
  }

  renderBody(message) {
    const body = element("div", "body");
    if (message.type === "file" && message.file) {
      const link = element("a", "file-link", message.file.name);
      link.href = message.file.url;
      link.setAttribute("download", "");
      body.append(element("span", "file-icon", "📎 "), link, element("span", "muted small", ` ${formatBytes(message.file.size)}`));
      if (message.content) body.append(element("p", "", message.content));
    } else {
      body.append(element("p", "", message.content));
    }
    return body;
  }

  setReceipt(item, seq) {
    const receipt = item.querySelector(".receipt");
    const read = [...this.othersReadSeq.values()].some((readSeq) => readSeq >= seq);
    item.dataset.state = read ? "read" : "sent";
    receipt.textContent = read ? "✓✓ Read" : "✓ Sent";
  }

  refreshReceipts() {
    for (const item of this.el.list.querySelectorAll(".message.mine:not(.unconfirmed)")) {
      this.setReceipt(item, Number(item.dataset.seq));
    }
  }

  isNearBottom() {
    const s = this.el.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom() {
    this.el.scroller.scrollTop = this.el.scroller.scrollHeight;
  }

  // ---- read markers -------------------------------------------------------------------------

  onReadMarker(marker) {
    if (marker.conversationId !== this.conversationId) return;
    if (marker.userId === this.me.id) {
      this.myReadSeq = Math.max(this.myReadSeq, marker.lastReadSeq);
      return;
    }
    const known = this.othersReadSeq.get(marker.userId) ?? 0;
    this.othersReadSeq.set(marker.userId, Math.max(known, marker.lastReadSeq));
    this.refreshReceipts();
  }

  // Marks the conversation read only while someone can actually see it.
  async markReadSoon() {
    if (this.marking || document.visibilityState !== "visible") return;
    if (this.newestSeq <= this.myReadSeq) return;
    this.marking = true;
    try {
      const marker = await api(this.urls.read, { method: "PATCH" });
      this.myReadSeq = Math.max(this.myReadSeq, marker.lastReadSeq);
    } catch (error) {
      return; // the next message or visibility change tries again
    } finally {
      this.marking = false;
    }
    if (this.newestSeq > this.myReadSeq) this.markReadSoon();
  }

  // ---- typing -------------------------------------------------------------------------------

  onTyping(data) {
    if (data.conversationId !== this.conversationId || data.userId === this.me.id) return;
    if (!data.isTyping) {
      this.forgetTypist(data.userId);
      return;
    }
    const known = this.typists.get(data.userId);
    if (known) clearTimeout(known.timer);
    const timer = setTimeout(() => this.forgetTypist(data.userId), TYPING_EXPIRE_MS);
    this.typists.set(data.userId, { username: data.username, timer });
    this.renderTypists();
  }

  forgetTypist(userId) {
    const known = this.typists.get(userId);
    if (!known) return;
    clearTimeout(known.timer);
    this.typists.delete(userId);
    this.renderTypists();
  }

  clearTypists() {
    for (const userId of [...this.typists.keys()]) this.forgetTypist(userId);
  }

  renderTypists() {
    const names = [...this.typists.values()].map((typist) => typist.username);
    this.el.typing.textContent = names.length === 0 ? "" : `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`;
  }

  noteTyping() {
    if (this.el.input.value.trim() === "") {
      this.stopTyping();
      return;
    }
    const now = Date.now();
    if (now - this.typingSentAt >= TYPING_REPEAT_MS) {
      if (this.socket.send("conversation:typing", { conversationId: this.conversationId, isTyping: true })) {
        this.typingSentAt = now;
      }
    }
    clearTimeout(this.typingIdleTimer);
    this.typingIdleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingIdleTimer);
    if (this.typingSentAt === 0) return;
    this.typingSentAt = 0;
    this.socket.send("conversation:typing", { conversationId: this.conversationId, isTyping: false });
  }

  // ---- sending ------------------------------------------------------------------------------

  bindControls() {
    this.el.loadEarlier.addEventListener("click", () => this.loadEarlier());
    this.el.scroller.addEventListener("scroll", () => {
      if (this.el.scroller.scrollTop < 40) this.loadEarlier();
    });
    document.addEventListener("visibilitychange", () => this.markReadSoon());
    window.addEventListener("focus", () => this.markReadSoon());
    if (!this.el.form) return; // read-only conversation
    this.el.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendText();
    });
    this.el.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendText();
      }
    });
    this.el.input.addEventListener("input", () => this.noteTyping());
    this.el.fileInput.addEventListener("change", () => {
      const [file] = this.el.fileInput.files;
      this.el.fileInput.value = "";
      if (file) this.send({ type: "file", content: "", file });
    });
  }

  sendText() {
    const content = this.el.input.value;
    if (content.trim() === "") return;
    if (content.length > this.maxLength) {
      this.showError(`Messages are limited to ${this.maxLength} characters.`);
      return;
    }
    this.el.input.value = "";
    this.stopTyping();
    this.send({ type: "text", content });
  }

  send({ type, content, file }) {
    this.showError("");
    const entry = { clientMessageId: newClientId(), type, content, file, attempt: 0, timer: null, retryable: false };
    entry.item = this.renderUnconfirmed(entry);
    this.pending.set(entry.clientMessageId, entry);
    this.el.list.append(entry.item);
    this.scrollToBottom();
    this.deliver(entry);
  }

  renderUnconfirmed(entry) {
    const item = element("li", "message mine unconfirmed");
    item.dataset.clientId = entry.clientMessageId;
    const meta = element("div", "meta");
    meta.append(element("span", "sender", "You"));
    const body = element("div", "body");
    if (entry.type === "file") body.append(element("span", "file-icon", "📎 "), element("span", "", entry.file.name));
    else body.append(element("p", "", entry.content));
    item.append(meta, body, element("span", "receipt"), element("span", "send-actions"));
    return item;
  }

  setUnconfirmedState(entry, state, text, action) {
    const { item } = entry;
    item.dataset.state = state;
    item.querySelector(".receipt").textContent = text;
    const actions = item.querySelector(".send-actions");
    actions.replaceChildren();
    if (action) {
      const button = element("button", "link small", action.label);
      button.type = "button";
      button.addEventListener("click", action.run);
      actions.append(button);
    }
  }

  // Posts with the entry's one clientMessageId, so however often this runs the server keeps one message.
  async deliver(entry) {
    clearTimeout(entry.timer);
    entry.retryable = false;
    this.setUnconfirmedState(entry, "pending", "Sending…");
    let message;
    try {
      message = await api(this.urls.send, this.requestFor(entry));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (!this.pending.has(entry.clientMessageId)) return; // the socket confirmed it meanwhile
      this.failed(entry, error);
      return;
    }
    this.receive(message);
  }

  requestFor(entry) {
    if (entry.type === "file") {
      const form = new FormData();
      form.append("conversationId", this.conversationId);
      form.append("type", "file");
      form.append("clientMessageId", entry.clientMessageId);
      form.append("file", entry.file, entry.file.name);
      return { method: "POST", form };
    }
    return {
      method: "POST",
      json: { conversationId: this.conversationId, type: "text", content: entry.content, clientMessageId: entry.clientMessageId },
    };
  }

  failed(entry, error) {
    if (error.retryable) {
      const delay = Math.min(RETRY_FIRST_MS * 2 ** entry.attempt, RETRY_MAX_MS);
      entry.attempt += 1;
      entry.retryable = true;
      entry.timer = setTimeout(() => this.deliver(entry), delay);
      this.setUnconfirmedState(entry, "retrying", "Not sent yet — retrying…", { label: "Retry now", run: () => this.deliver(entry) });
      return;
    }
    this.setUnconfirmedState(entry, "failed", `Not sent: ${error.message}`, {
      label: "Dismiss",
      run: () => {
        this.pending.delete(entry.clientMessageId);
        entry.item.remove();
      },
    });
    if (error.data && error.data.code === "conversation_read_only") this.becomeReadOnly();
  }

  becomeReadOnly() {
    this.el.form.querySelectorAll("textarea, input, button").forEach((control) => {
      control.disabled = true;
    });
    if (!document.getElementById("read-only-banner")) {
      const banner = element("p", "banner", "This project is no longer active: its conversation is read-only.");
      banner.id = "read-only-banner";
      banner.setAttribute("role", "status");
      document.querySelector(".project-head").after(banner);
    }
  }

  showError(text) {
    if (this.el.error) this.el.error.textContent = text;
  }
}
