// A project's conversation: history by cursor, live messages over the socket, typing, read ticks,
// idempotent sends with retry, file messages, catch-up by seq after a gap or a reconnect, and the
// senders' edits and deletes (pushed, and re-read with the newest page after a reconnect).
// The parts live in their own modules: message-store.js (dedupe and gaps), outbox.js (sends),
// typing.js, chat-view.js (the DOM); this one connects them to the API and the socket.

import { api } from "./api.js";
import { ChatView } from "./chat-view.js";
import { MessageStore } from "./message-store.js";
import { Outbox } from "./outbox.js";
import { EVENT, JOIN_REF } from "./protocol.js";
import { TypingSender, Typists, typingText } from "./typing.js";

const HISTORY_RETRY_MS = 2000;

export class Chat {
  constructor({ config, socket }) {
    this.me = config.me;
    this.conversationId = config.conversation.id;
    this.maxLength = config.messageMaxLength;
    this.editWindowMs = config.messageEditWindowSeconds * 1000;
    this.socket = socket;
    this.urls = {
      history: `/api/messages/conversation/${this.conversationId}`,
      send: "/api/messages",
      read: `/api/messages/conversation/${this.conversationId}/read`,
    };
    this.store = new MessageStore();
    this.view = new ChatView({
      me: this.me,
      onRetry: (entry) => this.outbox.deliver(entry),
      onDismiss: (entry) => this.outbox.dismiss(entry),
      canChange: (message) => this.canChange(message),
      onEdit: (message, content) => this.change(message, { method: "PATCH", json: { content } }),
      onDelete: (message) => this.change(message, { method: "DELETE" }),
    });
    this.outbox = new Outbox({
      post: (entry) => api(this.urls.send, this.requestFor(entry)),
      onDelivered: (message) => this.receive(message),
      onChange: (entry) => this.onSendChange(entry),
    });
    this.typing = new TypingSender({
      send: (isTyping) => this.socket.send(EVENT.TYPING, { conversationId: this.conversationId, isTyping }),
    });
    this.typists = new Typists({ onChange: (names) => this.view.showTyping(typingText(names)) });
    this.hasHistory = false; // the socket joins only once there is an anchor to join `after`
    this.hasEarlier = false;
    this.loadingEarlier = false;
    this.catchingUp = false;
    this.wasOpen = false;
    this.othersReadSeq = new Map(); // userId -> lastReadSeq
    this.myReadSeq = 0;
    this.marking = false;
    for (const participant of config.conversation.participants) {
      if (participant.user.id === this.me.id) this.myReadSeq = participant.lastReadSeq;
      else this.othersReadSeq.set(participant.user.id, participant.lastReadSeq);
    }
  }

  // Binds to the socket and the page, then loads the newest history (retrying until it has it). The
  // socket may connect meanwhile: the join waits for the history, nothing else on the page does.
  async start() {
    this.bindSocket();
    this.bindControls();
    await this.loadNewest();
  }

  // ---- socket -------------------------------------------------------------------------------

  bindSocket() {
    this.socket.onOpen(() => {
      this.typists.clear();
      if (this.hasHistory) this.join();
      // A reconnection may have missed edits and deletes of messages already shown: the replay brings only
      // newer ones, so re-read the newest page, which holds every message still within the edit window.
      if (this.hasHistory && this.wasOpen) this.refreshNewest();
      this.wasOpen = true;
      this.outbox.retryWaiting();
    });
    // A refused join (its rate limit, Redis away for a moment) would leave the page "Live" but deaf:
    // come back when the server says, and join again with `after`.
    this.socket.on(EVENT.ERROR, (error, frame) => {
      if (frame.ref === JOIN_REF) this.socket.reconnectAfter(error.retryAfter ? error.retryAfter * 1000 : undefined);
    });
    this.socket.on(EVENT.MESSAGE_NEW, (message) => this.receive(message));
    this.socket.on(EVENT.MESSAGE_UPDATED, (message) => this.revise(message));
    this.socket.on(EVENT.MESSAGE_DELETED, (message) => this.revise(message));
    this.socket.on(EVENT.TYPING, (data) => this.onTyping(data));
    this.socket.on(EVENT.MESSAGE_READ, (marker) => this.onReadMarker(marker));
    this.socket.on(EVENT.CONVERSATION_READ, (marker) => this.onReadMarker(marker));
  }

  join() {
    this.socket.send(EVENT.JOIN, { conversationId: this.conversationId, after: this.store.anchorId() }, JOIN_REF);
  }

  receive(message) {
    if (message.conversationId !== this.conversationId) return;
    const atBottom = this.view.isNearBottom();
    if (!this.show(message)) return;
    const mine = this.isMine(message);
    if (message.sender && !mine) this.typists.forget(message.sender.id);
    if (this.hasHistory && this.store.hasGap) this.catchUp(); // before it, the newest page fills any gap
    if (atBottom || mine) this.view.scrollToBottom();
    this.markReadSoon();
  }

  // A later version of a message (edited, or its tombstone): shown in place of the one held. One not held
  // yet past the contiguous seqs is a message whose message:new this page missed: received as new.
  revise(message) {
    if (message.conversationId !== this.conversationId) return;
    if (this.store.replace(message)) this.view.showMessage(message, (seq) => this.isReadByOthers(seq));
    else if (!this.store.has(message.id) && message.seq > this.store.contiguousSeq) this.receive(message);
  }

  async refreshNewest() {
    try {
      const page = await api(this.urls.history);
      page.results.forEach((message) => this.revise(message));
    } catch (error) {
      // The next push of each change still arrives; a reload shows the rest.
    }
  }

  async catchUp() {
    if (this.catchingUp) return;
    this.catchingUp = true;
    try {
      while (this.store.hasGap) {
        const page = await api(`${this.urls.history}?after=${this.store.anchorId()}`);
        page.results.forEach((message) => this.show(message));
        if (page.results.length === 0) break;
      }
      this.markReadSoon();
    } catch (error) {
      setTimeout(() => this.catchUp(), HISTORY_RETRY_MS);
    } finally {
      this.catchingUp = false;
    this.wasOpen = false;
    }
  }

  // ---- history ------------------------------------------------------------------------------

  async loadNewest() {
    this.view.setBusy(true);
    for (;;) {
      try {
        const page = await api(this.urls.history);
        this.store.startWith(page.results).forEach((message) => this.showStored(message));
        this.setHasEarlier(page.hasMore);
        break;
      } catch (error) {
        this.view.showError(`Could not load the conversation (${error.message}); trying again…`);
        await new Promise((resolve) => setTimeout(resolve, HISTORY_RETRY_MS));
      }
    }
    this.hasHistory = true;
    if (this.socket.isOpen) this.join();
    this.view.showError("");
    this.view.setBusy(false);
    this.view.scrollToBottom();
    this.markReadSoon();
  }

  async loadEarlier() {
    if (this.loadingEarlier || !this.hasEarlier || this.store.oldestId === null) return;
    this.loadingEarlier = true;
    this.view.setLoadingEarlier(true);
    try {
      await this.view.keepingScrollPosition(async () => {
        const page = await api(`${this.urls.history}?before=${this.store.oldestId}`);
        page.results.forEach((message) => this.show(message));
        this.setHasEarlier(page.hasMore);
      });
    } catch (error) {
      this.view.showError(`Could not load earlier messages: ${error.message}`);
    } finally {
      this.loadingEarlier = false;
      this.view.setLoadingEarlier(false);
    }
  }

  setHasEarlier(hasEarlier) {
    this.hasEarlier = hasEarlier;
    this.view.setHasEarlier(hasEarlier);
  }

  // ---- the message list ---------------------------------------------------------------------

  // Stores and shows a confirmed message once (by id); returns whether it was new.
  show(message) {
    if (!this.store.add(message)) return false;
    this.showStored(message);
    return true;
  }

  // A system message has no sender: it is nobody's.
  isMine(message) {
    return message.sender?.id === this.me.id;
  }

  showStored(message) {
    if (this.isMine(message)) {
      this.myReadSeq = Math.max(this.myReadSeq, message.seq); // the server moves it too
      if (message.clientMessageId) this.outbox.confirm(message.clientMessageId);
    }
    this.view.showMessage(message, (seq) => this.isReadByOthers(seq));
  }

  isReadByOthers(seq) {
    return [...this.othersReadSeq.values()].some((readSeq) => readSeq >= seq);
  }

  // ---- edits and deletes ------------------------------------------------------------------

  // Offered on the user's own messages while the server would take them; it still decides (409 past the window).
  canChange(message) {
    return (
      this.view.canSend &&
      this.isMine(message) &&
      !message.deletedAt &&
      Date.now() - Date.parse(message.createdAt) < this.editWindowMs
    );
  }

  // The PATCH answers the new version; a DELETE answers nothing, and its push brings the tombstone.
  async change(message, request) {
    this.view.showError("");
    try {
      const updated = await api(`/api/messages/${message.id}`, request);
      if (updated) this.revise(updated);
    } catch (error) {
      this.view.showError(`Could not change the message: ${error.message}`);
    }
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
    this.view.refreshReceipts((seq) => this.isReadByOthers(seq));
  }

  // Marks the conversation read only while someone can actually see it.
  async markReadSoon() {
    if (this.marking || document.visibilityState !== "visible") return;
    if (this.store.newestSeq <= this.myReadSeq) return;
    this.marking = true;
    try {
      const marker = await api(this.urls.read, { method: "PATCH" });
      this.myReadSeq = Math.max(this.myReadSeq, marker.lastReadSeq);
    } catch (error) {
      return; // the next message or visibility change tries again
    } finally {
      this.marking = false;
    }
    if (this.store.newestSeq > this.myReadSeq) this.markReadSoon();
  }

  // ---- typing -------------------------------------------------------------------------------

  onTyping(data) {
    if (data.conversationId !== this.conversationId || data.userId === this.me.id) return;
    this.typists.heard(data);
  }

  // ---- sending ------------------------------------------------------------------------------

  bindControls() {
    const { loadEarlier, scroller, form, input, fileInput } = this.view.el;
    loadEarlier.addEventListener("click", () => this.loadEarlier());
    scroller.addEventListener("scroll", () => {
      if (this.view.isNearTop()) this.loadEarlier();
    });
    document.addEventListener("visibilitychange", () => this.markReadSoon());
    window.addEventListener("focus", () => this.markReadSoon());
    if (!this.view.canSend) return; // read-only conversation
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendText();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendText();
      }
    });
    input.addEventListener("input", () => this.typing.noteInput(input.value));
    fileInput.addEventListener("change", () => {
      const [file] = fileInput.files;
      fileInput.value = "";
      if (file) this.send({ type: "file", file });
    });
  }

  sendText() {
    const { input } = this.view.el;
    const content = input.value;
    if (content.trim() === "") return;
    if (content.length > this.maxLength) {
      this.view.showError(`Messages are limited to ${this.maxLength} characters.`);
      return;
    }
    input.value = "";
    this.typing.stop();
    this.send({ type: "text", content });
  }

  send(message) {
    this.view.showError("");
    this.outbox.add(message);
  }

  onSendChange(entry) {
    this.view.showSend(entry);
    if (entry.state === "failed" && entry.error.data && entry.error.data.code === "conversation_read_only") {
      this.view.becomeReadOnly();
    }
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
}
