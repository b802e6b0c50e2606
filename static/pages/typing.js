// Typing in a conversation: when to tell the others that I type (docs/realtime.md: isTyping=true
// about every 3 s while typing, false on stopping or sending), and whom to show as typing.

export const TYPING_REPEAT_MS = 3000; // a typing client repeats isTyping=true this often
export const TYPING_IDLE_MS = 4000; // ...and says it stopped after this long without a keystroke
export const TYPING_EXPIRE_MS = 8000; // a receiver forgets a typist it has not heard from for this long

export class TypingSender {
  // send(isTyping) returns whether the frame went out (false while the socket is down).
  constructor({ send, now = Date.now }) {
    this.send = send;
    this.now = now;
    this.sentAt = 0;
    this.idleTimer = null;
  }

  // The composer now holds `text`.
  noteInput(text) {
    if (text.trim() === "") {
      this.stop();
      return;
    }
    const now = this.now();
    if (now - this.sentAt >= TYPING_REPEAT_MS && this.send(true)) this.sentAt = now;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop(), TYPING_IDLE_MS);
  }

  stop() {
    clearTimeout(this.idleTimer);
    if (this.sentAt === 0) return;
    this.sentAt = 0;
    this.send(false);
  }
}

export class Typists {
  // onChange(names) runs whenever the list of people typing changes.
  constructor({ onChange }) {
    this.onChange = onChange;
    this.byUser = new Map(); // userId -> {username, timer}
  }

  heard({ userId, username, isTyping }) {
    if (!isTyping) {
      this.forget(userId);
      return;
    }
    const known = this.byUser.get(userId);
    if (known) clearTimeout(known.timer);
    const timer = setTimeout(() => this.forget(userId), TYPING_EXPIRE_MS);
    this.byUser.set(userId, { username, timer });
    this.onChange(this.names);
  }

  forget(userId) {
    const known = this.byUser.get(userId);
    if (!known) return;
    clearTimeout(known.timer);
    this.byUser.delete(userId);
    this.onChange(this.names);
  }

  clear() {
    for (const userId of [...this.byUser.keys()]) this.forget(userId);
  }

  get names() {
    return [...this.byUser.values()].map((typist) => typist.username);
  }
}

export function typingText(names) {
  if (names.length === 0) return "";
  return `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`;
}
