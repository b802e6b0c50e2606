// The layout of static/pages: modules that import without a browser, and one place for the protocol.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

import { CLOSE, EVENT } from "../../static/pages/protocol.js";

const PAGES = new URL("../../static/pages/", import.meta.url);
// The scripts the templates load: they read their page's config and start it, so they need a DOM.
const PAGE_ENTRIES = ["call.js", "dashboard.js", "project.js"];
const modules = readdirSync(PAGES).filter((name) => name.endsWith(".js"));

test("every module but the page entries imports without a DOM", async () => {
  assert.equal(globalThis.document, undefined);
  const libraries = modules.filter((name) => !PAGE_ENTRIES.includes(name));
  assert.ok(libraries.includes("chat.js") && libraries.includes("call-screen.js"));
  for (const name of libraries) await import(new URL(name, PAGES));
});

test("only protocol.js names the socket's events and close codes", () => {
  // "error" is left out: it is also the DOM's event for a script that failed to load.
  const events = Object.values(EVENT).filter((event) => event !== "error");
  for (const name of modules.filter((module) => module !== "protocol.js")) {
    const source = readFileSync(new URL(name, PAGES), "utf8");
    for (const event of events) assert.ok(!source.includes(`"${event}"`), `${name} names "${event}": use EVENT`);
    for (const code of Object.values(CLOSE)) assert.ok(!source.includes(String(code)), `${name} names ${code}: use CLOSE`);
  }
});
