// What the project page shows of its conversation: the message list in id order with unconfirmed
// sends below it, system messages as centred lines, edited and deleted messages marked, read ticks, the typing line, the
// composer's errors and the read-only state.
// Message content is only ever put into the page as text (textContent), never as HTML.

import { button, element } from "./dom.js";

// What the off-platform contact filter did to a message (its `moderation`, docs/moderation.md): the placeholder its
// recipients see in place of a held or rejected one, and what its sender is told under it.
const PLACEHOLDER = { held: "Message held for review", rejected: "Message removed by support" };
const TOLD_TO_SENDER = {
  masked: "The other side sees this with the contact details hidden.",
  held: "Held for review: the other side sees it once support approves it.",
  rejected: "Not approved by support: the other side does not see it.",
};

const NEAR_BOTTOM_PX = 80;
const NEAR_TOP_PX = 40;

export function formatBytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

export class ChatView {
  // onRetry(entry) and onDismiss(entry) are the actions offered on a send that did not go through;
  // onEdit(message, content) and onDelete(message) those on a message of one's own while canChange(message).
  constructor({ me, onRetry, onDismiss, canChange = () => false, onEdit, onDelete }) {
    this.me = me;
    this.onRetry = onRetry;
    this.onDismiss = onDismiss;
    this.canChange = canChange;
    this.onEdit = onEdit;
    this.onDelete = onDelete;
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
    this.unconfirmed = new Map(); // clientMessageId -> the list item of a send not confirmed yet
  }

  get canSend() {
    return this.el.form !== null;
  }

  // ---- confirmed messages -------------------------------------------------------------------

  // Shows a confirmed message, or its later version in its place; `isRead(seq)` tells whether someone else
  // has read up to it.
  showMessage(message, isRead) {
    const item =
      this.unconfirmed.get(message.clientMessageId) ??
      this.el.list.querySelector(`li[data-id="${message.id}"]`) ??
      document.createElement("li");
    this.unconfirmed.delete(message.clientMessageId);
    this.renderMessage(message, item, isRead);
    this.place(item, message.id);
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

  renderMessage(message, item, isRead) {
    item.replaceChildren();
    item.dataset.id = message.id;
    item.dataset.seq = message.seq;
    if (message.type === "system") {
      // The server's line about the project or a meeting: centred, with no sender and no read ticks.
      item.className = "message system";
      item.append(element("p", "", message.content), this.renderTime(message));
      return;
    }
    const mine = message.sender.id === this.me.id;
    item.className = `message ${mine ? "mine" : "theirs"}${message.deletedAt ? " deleted" : ""}`;
    if (message.clientMessageId) item.dataset.clientId = message.clientMessageId;
    const meta = element("div", "meta");
    meta.append(element("span", "sender", mine ? "You" : message.sender.username), this.renderTime(message));
    if (message.editedAt && !message.deletedAt) {
      const edited = element("span", "edited muted small", "edited");
      edited.title = new Date(message.editedAt).toLocaleString();
      meta.append(edited);
    }
    const body = this.renderBody(message);
    item.append(meta, body);
    if (this.canChange(message)) meta.append(this.renderChanges(message, body));
    if (mine) {
      item.append(element("span", "receipt"));
      this.setReceipt(item, isRead(message.seq));
    }
  }

  renderTime(message) {
    const time = element("time", "", new Date(message.createdAt).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    time.dateTime = message.createdAt;
    time.title = new Date(message.createdAt).toLocaleString();
    return time;
  }

  renderBody(message) {
    const body = element("div", "body");
    const mine = message.sender.id === this.me.id;
    if (message.deletedAt) {
      body.append(element("p", "muted", "Message deleted"));
    } else if (!mine && PLACEHOLDER[message.moderation]) {
      body.append(element("p", "muted", PLACEHOLDER[message.moderation]));
    } else if (message.type === "file" && message.file) {
      const link = element("a", "file-link", message.file.name);
      link.href = message.file.url;
      link.setAttribute("download", "");
      body.append(element("span", "file-icon", "📎 "), link, element("span", "muted small", ` ${formatBytes(message.file.size)}`));
      if (message.content) body.append(element("p", "", message.content));
    } else {
      body.append(element("p", "", message.content));
    }
    if (mine && !message.deletedAt && TOLD_TO_SENDER[message.moderation]) {
      body.append(element("p", "muted small", TOLD_TO_SENDER[message.moderation]));
    }
    return body;
  }

  // "Edit" (a text message) and "Delete": the edit swaps the body for a small form until saved or cancelled.
  renderChanges(message, body) {
    const actions = element("span", "message-actions");
    if (message.type === "text") {
      actions.append(button("Edit", "link small", () => body.replaceWith(this.renderEditor(message, body))));
    }
    // Asked again in place rather than by a dialog: a second click on "Really delete?" deletes.
    const remove = button("Delete", "link small", () => {
      if (remove.dataset.confirming) {
        this.onDelete(message);
        return;
      }
      remove.textContent = "Really delete?";
      remove.dataset.confirming = "yes";
    });
    actions.append(remove);
    return actions;
  }

  renderEditor(message, body) {
    const form = element("form", "edit-form");
    const input = element("textarea");
    input.value = message.content;
    input.rows = 2;
    input.setAttribute("aria-label", "Edit message");
    const cancel = () => form.replaceWith(body);
    form.append(input, element("button", "secondary small", "Save"), button("Cancel", "link small", cancel));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (input.value.trim() !== "" && input.value !== message.content) this.onEdit(message, input.value);
      cancel();
    });
    return form;
  }

  setReceipt(item, read) {
    item.dataset.state = read ? "read" : "sent";
    item.querySelector(".receipt").textContent = read ? "✓✓ Read" : "✓ Sent";
  }

  refreshReceipts(isRead) {
    for (const item of this.el.list.querySelectorAll(".message.mine:not(.unconfirmed)")) {
      this.setReceipt(item, isRead(Number(item.dataset.seq)));
    }
  }

  // ---- sends not confirmed yet --------------------------------------------------------------

  // Shows a send (an Outbox entry) in its current state: pending, retrying or failed.
  showSend(entry) {
    let item = this.unconfirmed.get(entry.clientMessageId);
    if (!item) {
      item = this.renderUnconfirmed(entry);
      this.unconfirmed.set(entry.clientMessageId, item);
      this.el.list.append(item);
      this.scrollToBottom();
    }
    if (entry.state === "pending") {
      this.setSendState(item, "pending", "Sending…");
    } else if (entry.state === "retrying") {
      this.setSendState(item, "retrying", "Not sent yet — retrying…", button("Retry now", "link small", () => this.onRetry(entry)));
    } else {
      const dismiss = () => {
        this.unconfirmed.delete(entry.clientMessageId);
        item.remove();
        this.onDismiss(entry);
      };
      this.setSendState(item, "failed", `Not sent: ${entry.error.message}`, button("Dismiss", "link small", dismiss));
    }
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

  setSendState(item, state, text, action) {
    item.dataset.state = state;
    item.querySelector(".receipt").textContent = text;
    item.querySelector(".send-actions").replaceChildren(...(action ? [action] : []));
  }

  // ---- around the list ----------------------------------------------------------------------

  setBusy(busy) {
    if (busy) this.el.list.setAttribute("aria-busy", "true");
    else this.el.list.removeAttribute("aria-busy");
  }

  setHasEarlier(hasEarlier) {
    this.el.loadEarlier.hidden = !hasEarlier;
  }

  setLoadingEarlier(loading) {
    this.el.loadEarlier.disabled = loading;
    this.setBusy(loading);
  }

  // Runs `load` (which adds older messages above) and keeps the reader where they were.
  async keepingScrollPosition(load) {
    const scroller = this.el.scroller;
    const heightBefore = scroller.scrollHeight;
    await load();
    scroller.scrollTop += scroller.scrollHeight - heightBefore;
  }

  isNearBottom() {
    const s = this.el.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  isNearTop() {
    return this.el.scroller.scrollTop < NEAR_TOP_PX;
  }

  scrollToBottom() {
    this.el.scroller.scrollTop = this.el.scroller.scrollHeight;
  }

  showTyping(text) {
    this.el.typing.textContent = text;
  }

  showError(text) {
    if (this.el.error) this.el.error.textContent = text;
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
}
