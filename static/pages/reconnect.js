// When the page's socket comes back: capped exponential back-off with jitter, reset by a connection
// that opens; a close saying the user is signed out (CLOSE.UNAUTHENTICATED) stops it for good.

import { CLOSE } from "./protocol.js";

export const BACKOFF_FIRST_MS = 500;
export const BACKOFF_MAX_MS = 15000;

export class ReconnectPolicy {
  constructor({ firstMs = BACKOFF_FIRST_MS, maxMs = BACKOFF_MAX_MS, random = Math.random } = {}) {
    this.firstMs = firstMs;
    this.maxMs = maxMs;
    this.random = random;
    this.attempt = 0; // connections tried since the last one that opened
    this.stopped = false;
  }

  // Whether the next connection is a comeback (the page says "Reconnecting…") rather than the first.
  get isComeback() {
    return this.attempt > 0;
  }

  opened() {
    this.attempt = 0;
  }

  // Returns whether to reconnect after this close. Every code but UNAUTHENTICATED does (a network
  // loss, a server restart, 4408 "too slow"): the page then joins again with `after`, so nothing
  // dropped is lost.
  closed(code) {
    if (code === CLOSE.UNAUTHENTICATED) this.stopped = true;
    return !this.stopped;
  }

  // The wait before the next connection, growing with each attempt up to the cap. Jitter spreads a
  // crowd of clients that lost the same server.
  nextDelay() {
    const ceiling = Math.min(this.firstMs * 2 ** this.attempt, this.maxMs);
    this.attempt += 1;
    return ceiling / 2 + this.random() * (ceiling / 2);
  }

  // The network went away (or came back) under an open socket: the next connection is a comeback.
  interrupted() {
    this.attempt = Math.max(this.attempt, 1);
  }
}
