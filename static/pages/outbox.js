// The sends the server has not confirmed yet. Each keeps its one clientMessageId through every
// retry, so however often it is posted the server keeps one message. Network failures, throttling
// and server errors are retried with back-off; any other refusal is final.

import { ApiError, newClientId } from "./api.js";

export const RETRY_FIRST_MS = 1000;
export const RETRY_MAX_MS = 30000;

export function retryDelay(attempt) {
  return Math.min(RETRY_FIRST_MS * 2 ** attempt, RETRY_MAX_MS);
}

export class Outbox {
  // post(entry) resolves to the stored message or rejects with an ApiError; onDelivered gets that
  // message; onChange(entry) runs whenever a send's state (pending, retrying, failed) changes.
  constructor({ post, onDelivered, onChange = () => {}, newId = newClientId }) {
    this.post = post;
    this.onDelivered = onDelivered;
    this.onChange = onChange;
    this.newId = newId;
    this.entries = new Map(); // clientMessageId -> entry, in the order they were sent
  }

  add({ type, content = "", file = null }) {
    const entry = { clientMessageId: this.newId(), type, content, file, attempt: 0, timer: null, state: "pending", error: null };
    this.entries.set(entry.clientMessageId, entry);
    this.deliver(entry);
    return entry;
  }

  async deliver(entry) {
    clearTimeout(entry.timer);
    entry.timer = null;
    this.setState(entry, "pending", null);
    let message;
    try {
      message = await this.post(entry);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (this.entries.has(entry.clientMessageId)) this.failed(entry, error); // unless the socket confirmed it meanwhile
      return;
    }
    this.onDelivered(message);
  }

  failed(entry, error) {
    if (!error.retryable) {
      this.setState(entry, "failed", error);
      return;
    }
    entry.timer = setTimeout(() => this.deliver(entry), retryDelay(entry.attempt));
    entry.attempt += 1;
    this.setState(entry, "retrying", error);
  }

  // The server's copy arrived (the POST's answer, or message:new on the socket): that send is done.
  // Returns its entry, or undefined when it was not (or no longer) waiting here.
  confirm(clientMessageId) {
    const entry = this.entries.get(clientMessageId);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.entries.delete(clientMessageId);
    return entry;
  }

  dismiss(entry) {
    clearTimeout(entry.timer);
    this.entries.delete(entry.clientMessageId);
  }

  // A new connection is a good moment to try again what waits for its next retry.
  retryWaiting() {
    for (const entry of this.entries.values()) if (entry.state === "retrying") this.deliver(entry);
  }

  setState(entry, state, error) {
    entry.state = state;
    entry.error = error;
    this.onChange(entry);
  }
}
