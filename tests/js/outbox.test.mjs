// Sends not confirmed yet: one clientMessageId per send through every retry, back-off on retryable
// failures, a final state on refusals, and confirmation by whichever copy arrives first.

import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { ApiError } from "../../static/pages/api.js";
import { Outbox, RETRY_MAX_MS, retryDelay } from "../../static/pages/outbox.js";

const settle = () => new Promise((resolve) => setImmediate(resolve));

// A stand-in for POST /api/messages: answers each call with the next scripted outcome.
function scriptedPost(outcomes) {
  const calls = [];
  const post = async (entry) => {
    calls.push(entry.clientMessageId);
    const outcome = outcomes.shift();
    if (outcome instanceof Error) throw outcome;
    return outcome;
  };
  return { post, calls };
}

function outboxWith(outcomes) {
  const { post, calls } = scriptedPost(outcomes);
  const delivered = [];
  const states = [];
  let ids = 0;
  const outbox = new Outbox({
    post,
    onDelivered: (message) => delivered.push(message),
    onChange: (entry) => states.push(entry.state),
    newId: () => `client-${++ids}`,
  });
  return { outbox, calls, delivered, states };
}

const stored = { id: 7, clientMessageId: "client-1" };
const offline = () => new ApiError(0, { code: "offline", detail: "You appear to be offline." });

beforeEach((t) => t.mock.timers.enable({ apis: ["setTimeout"] }));

test("a send that goes through is delivered and leaves the outbox when confirmed", async () => {
  const { outbox, calls, delivered, states } = outboxWith([stored]);
  outbox.add({ type: "text", content: "hi" });
  await settle();
  assert.deepEqual(calls, ["client-1"]);
  assert.deepEqual(delivered, [stored]);
  assert.deepEqual(states, ["pending"]);
  assert.equal(outbox.confirm("client-1").content, "hi");
  assert.equal(outbox.entries.size, 0);
});

test("a retryable failure is retried after the back-off with the same clientMessageId", async (t) => {
  const { outbox, calls, delivered, states } = outboxWith([offline(), new ApiError(503, null), stored]);
  outbox.add({ type: "text", content: "hi" });
  await settle();
  assert.deepEqual(states, ["pending", "retrying"]);
  t.mock.timers.tick(retryDelay(0));
  await settle();
  t.mock.timers.tick(retryDelay(1));
  await settle();
  assert.deepEqual(calls, ["client-1", "client-1", "client-1"]);
  assert.deepEqual(delivered, [stored]);
});

test("no retry happens before its back-off has passed", async (t) => {
  const { outbox, calls } = outboxWith([offline(), stored]);
  outbox.add({ type: "text", content: "hi" });
  await settle();
  t.mock.timers.tick(retryDelay(0) - 1);
  await settle();
  assert.equal(calls.length, 1);
});

test("the back-off doubles from one second up to its cap", () => {
  assert.deepEqual([0, 1, 2, 3].map(retryDelay), [1000, 2000, 4000, 8000]);
  assert.equal(retryDelay(20), RETRY_MAX_MS);
});

test("a refusal is final: the send shows as failed and is not retried", async (t) => {
  const refused = new ApiError(403, { code: "conversation_read_only", detail: "Read-only." });
  const { outbox, calls, states } = outboxWith([refused]);
  const entry = outbox.add({ type: "text", content: "hi" });
  await settle();
  t.mock.timers.tick(RETRY_MAX_MS);
  await settle();
  assert.deepEqual(states, ["pending", "failed"]);
  assert.equal(entry.error, refused);
  assert.equal(calls.length, 1);
});

test("a send the socket confirmed while its POST failed is neither failed nor retried", async (t) => {
  let failPost;
  const { outbox, states } = outboxWith([]);
  outbox.post = () => new Promise((resolve, reject) => (failPost = reject));
  outbox.add({ type: "text", content: "hi" });
  outbox.confirm("client-1"); // message:new with our clientMessageId arrived first
  failPost(offline());
  await settle();
  t.mock.timers.tick(RETRY_MAX_MS);
  assert.deepEqual(states, ["pending"]);
});

test("a confirmed send's pending retry is cancelled", async (t) => {
  const { outbox, calls } = outboxWith([offline(), stored]);
  outbox.add({ type: "text", content: "hi" });
  await settle();
  outbox.confirm("client-1");
  t.mock.timers.tick(RETRY_MAX_MS);
  await settle();
  assert.equal(calls.length, 1);
});

test("a new connection retries at once the sends waiting for a retry, and only those", async () => {
  const refused = new ApiError(400, { code: "invalid", detail: "The input is invalid: see fields.", fields: { content: ["Too long."] } });
  const { outbox, calls } = outboxWith([offline(), refused, stored]);
  outbox.add({ type: "text", content: "waits" });
  outbox.add({ type: "text", content: "refused" });
  await settle();
  outbox.retryWaiting();
  await settle();
  assert.deepEqual(calls, ["client-1", "client-2", "client-1"]);
});

test("a dismissed send is forgotten", async () => {
  const { outbox } = outboxWith([new ApiError(400, null)]);
  const entry = outbox.add({ type: "text", content: "hi" });
  await settle();
  outbox.dismiss(entry);
  assert.equal(outbox.confirm("client-1"), undefined);
});

test("each send gets its own clientMessageId", async () => {
  const { outbox, calls } = outboxWith([stored, { ...stored, id: 8, clientMessageId: "client-2" }]);
  outbox.add({ type: "text", content: "one" });
  outbox.add({ type: "text", content: "two" });
  await settle();
  assert.deepEqual(calls, ["client-1", "client-2"]);
});
