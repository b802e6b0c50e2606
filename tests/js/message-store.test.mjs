// The conversation's message store: each message once by id, and gaps in seq found.

import assert from "node:assert/strict";
import { test } from "node:test";

import { MessageStore } from "../../static/pages/message-store.js";

// Message ids and seqs differ on purpose: ids are global, seqs count within one conversation.
const message = (seq) => ({ id: 100 + seq * 3, seq });

test("a message already held is not added again", () => {
  const store = new MessageStore();
  assert.equal(store.add(message(1)), true);
  assert.equal(store.add({ ...message(1) }), false);
  assert.equal(store.byId.size, 1);
});

test("messages in order leave no gap and anchor at the newest", () => {
  const store = new MessageStore();
  [1, 2, 3].forEach((seq) => store.add(message(seq)));
  assert.equal(store.hasGap, false);
  assert.equal(store.contiguousSeq, 3);
  assert.equal(store.anchorId(), message(3).id);
});

test("a message beyond the next seq shows a gap and the anchor stays before it", () => {
  const store = new MessageStore();
  store.add(message(1));
  store.add(message(3));
  assert.equal(store.hasGap, true);
  assert.equal(store.anchorId(), message(1).id);
});

test("the missing message closes the gap, in whatever order it arrives", () => {
  const store = new MessageStore();
  [1, 4, 3].forEach((seq) => store.add(message(seq)));
  assert.equal(store.hasGap, true);
  store.add(message(2));
  assert.equal(store.hasGap, false);
  assert.equal(store.anchorId(), message(4).id);
});

test("an empty store anchors at 0, which asks for everything", () => {
  assert.equal(new MessageStore().anchorId(), 0);
});

test("history before the newest page is not a gap", () => {
  const store = new MessageStore();
  const added = store.startWith([message(41), message(42)]);
  assert.deepEqual(added, [message(41), message(42)]);
  assert.equal(store.hasGap, false);
  assert.equal(store.anchorId(), message(42).id);
  assert.equal(store.oldestId, message(41).id);
});

test("the newest page keeps only what is not held yet, such as a send confirmed before it loaded", () => {
  const store = new MessageStore();
  store.add(message(42));
  const added = store.startWith([message(41), message(42)]);
  assert.deepEqual(added, [message(41)]);
  assert.equal(store.hasGap, false);
});

test("older pages move the oldest id back for scrolling further", () => {
  const store = new MessageStore();
  store.startWith([message(10), message(11)]);
  [8, 9].forEach((seq) => store.add(message(seq)));
  assert.equal(store.oldestId, message(8).id);
  assert.equal(store.anchorId(), message(11).id);
});

// An edit's or a delete's version of message(seq): the same id and seq.
const edited = (seq, content, at) => ({ ...message(seq), content, editedAt: at, deletedAt: null });
const deleted = (seq) => ({ ...message(seq), content: "", deletedAt: "2026-12-01T10:09:00Z" });

test("an edit replaces the held message, at its id and seq", () => {
  const store = new MessageStore();
  [1, 2].forEach((seq) => store.add(message(seq)));
  assert.equal(store.replace(edited(1, "fixed", "2026-12-01T10:05:00Z")), true);
  assert.equal(store.byId.get(message(1).id).content, "fixed");
  assert.equal(store.contiguousSeq, 2);
  assert.equal(store.hasGap, false);
});

test("an earlier or the same version does not replace a later edit", () => {
  const store = new MessageStore();
  store.add(edited(1, "second", "2026-12-01T10:06:00Z"));
  assert.equal(store.replace(edited(1, "first", "2026-12-01T10:05:00Z")), false);
  assert.equal(store.replace(edited(1, "second", "2026-12-01T10:06:00Z")), false);
  assert.equal(store.byId.get(message(1).id).content, "second");
});

test("a tombstone replaces the message and nothing replaces the tombstone", () => {
  const store = new MessageStore();
  store.add(message(1));
  assert.equal(store.replace(deleted(1)), true);
  assert.equal(store.replace(edited(1, "back", "2026-12-01T10:10:00Z")), false);
  assert.equal(store.byId.get(message(1).id).deletedAt, "2026-12-01T10:09:00Z");
});

test("a version of a message not held is not stored by replace", () => {
  const store = new MessageStore();
  assert.equal(store.replace(edited(1, "fixed", "2026-12-01T10:05:00Z")), false);
  assert.equal(store.has(message(1).id), false);
});
