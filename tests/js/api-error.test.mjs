// What a page shows for a refused request: the house's one error shape, {code, detail, fields?, retryAfter?}.

import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError } from "../../static/pages/api.js";

test("a refused input shows its field's first message rather than the summary", () => {
  const error = new ApiError(400, {
    code: "invalid",
    detail: "The input is invalid: see fields.",
    fields: { content: ["Messages are limited to 5000 characters.", "second"] },
  });
  assert.equal(error.message, "Messages are limited to 5000 characters.");
  assert.equal(error.data.code, "invalid");
});

test("any other refusal shows its detail", () => {
  const error = new ApiError(409, { code: "conversation_read_only", detail: "The project is completed." });
  assert.equal(error.message, "The project is completed.");
});

test("an answer without the error shape falls back to the status", () => {
  assert.equal(new ApiError(502, "<html>Bad gateway</html>").message, "The server answered 502.");
  assert.equal(new ApiError(500, {}).message, "The server answered 500.");
});
