// Typing: how often the page says it types, when it says it stopped, and whom it shows as typing.

import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { TYPING_EXPIRE_MS, TYPING_IDLE_MS, TYPING_REPEAT_MS, TypingSender, Typists, typingText } from "../../static/pages/typing.js";

beforeEach((t) => t.mock.timers.enable({ apis: ["setTimeout"] }));

function sender({ socketOpen = () => true } = {}) {
  const sent = [];
  let now = 1_000_000;
  const typing = new TypingSender({
    send: (isTyping) => socketOpen() && sent.push(isTyping) > 0,
    now: () => now,
  });
  return { typing, sent, advance: (ms) => (now += ms) };
}

test("keystrokes say isTyping=true at most once per repeat interval", () => {
  const { typing, sent, advance } = sender();
  typing.noteInput("h");
  advance(TYPING_REPEAT_MS - 1);
  typing.noteInput("he");
  assert.deepEqual(sent, [true]);
  advance(1);
  typing.noteInput("hel");
  assert.deepEqual(sent, [true, true]);
});

test("no keystroke for the idle time says isTyping=false", (t) => {
  const { typing, sent } = sender();
  typing.noteInput("h");
  t.mock.timers.tick(TYPING_IDLE_MS);
  assert.deepEqual(sent, [true, false]);
});

test("emptying the composer says isTyping=false once", (t) => {
  const { typing, sent } = sender();
  typing.noteInput("h");
  typing.noteInput("  ");
  t.mock.timers.tick(TYPING_IDLE_MS);
  assert.deepEqual(sent, [true, false]);
});

test("a stop without a start sends nothing", () => {
  const { typing, sent } = sender();
  typing.stop();
  assert.deepEqual(sent, []);
});

test("a keystroke while the socket is down is told on the next keystroke after it is back", () => {
  let open = false;
  const { typing, sent } = sender({ socketOpen: () => open });
  typing.noteInput("h");
  open = true;
  typing.noteInput("he");
  assert.deepEqual(sent, [true]);
});

test("a typist is shown until they stop, or until not heard from for the expiry time", (t) => {
  const shown = [];
  const typists = new Typists({ onChange: (names) => shown.push(typingText(names)) });
  typists.heard({ userId: 2, username: "bob", isTyping: true });
  typists.heard({ userId: 3, username: "carol", isTyping: true });
  typists.heard({ userId: 2, username: "bob", isTyping: false });
  t.mock.timers.tick(TYPING_EXPIRE_MS - 1);
  assert.deepEqual(typists.names, ["carol"]);
  t.mock.timers.tick(1);
  assert.deepEqual(shown, ["bob is typing…", "bob, carol are typing…", "carol is typing…", ""]);
});

test("hearing a typist again restarts their expiry", (t) => {
  const typists = new Typists({ onChange: () => {} });
  typists.heard({ userId: 2, username: "bob", isTyping: true });
  t.mock.timers.tick(TYPING_EXPIRE_MS - 1);
  typists.heard({ userId: 2, username: "bob", isTyping: true });
  t.mock.timers.tick(TYPING_EXPIRE_MS - 1);
  assert.deepEqual(typists.names, ["bob"]);
});

test("clearing forgets every typist (a reconnect: their stop may have been missed)", () => {
  const typists = new Typists({ onChange: () => {} });
  typists.heard({ userId: 2, username: "bob", isTyping: true });
  typists.heard({ userId: 3, username: "carol", isTyping: true });
  typists.clear();
  assert.deepEqual(typists.names, []);
});
