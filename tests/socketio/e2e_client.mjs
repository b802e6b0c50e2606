// Drives the official socket.io-client against a live server, as a marketplace frontend would.
// Run by tests/socketio/test_socketio_client_e2e.py, which starts the servers and reads what this prints:
// one JSON object per line ({"step": ...}); the last line is {"step": "done", ...} or {"step": "failed", ...}.
// The "kill" scenario prints {"step": "kill-now", "localPort"} and waits for "killed" on stdin.
import { io } from "socket.io-client";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";

const SERVER = process.env.SERVER_URL;
const MODE = process.env.SIO_MODE; // "default" (polling, then the upgrade) or "websocket"
const CONVERSATION_ID = Number(process.env.CONVERSATION_ID);
const TOKENS = { client: process.env.CLIENT_TOKEN, provider: process.env.PROVIDER_TOKEN };
const SCENARIO = process.argv[2];
const WAIT_MS = 10_000;

const report = (step, fields = {}) => process.stdout.write(JSON.stringify({ step, ...fields }) + "\n");

function transportOptions() {
  return MODE === "websocket" ? { transports: ["websocket"] } : {};
}

/** Resolve with the first `event` on `emitter` that satisfies `accept`, or reject after `ms`. */
function nextEvent(emitter, event, { ms = WAIT_MS, accept = () => true } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    function listener(payload) {
      if (!accept(payload)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(payload);
    }
    emitter.on(event, listener);
  });
}

/**
 * A participant as the docs tell integrators to write one: messages kept by id (dropping the ones held
 * already), and on every (re)connection `join` with `after` = the newest id held, so nothing sent while
 * away is lost.
 */
function participant(name) {
  const socket = io(SERVER, { auth: { token: TOKENS[name] }, reconnectionDelay: 200, reconnectionDelayMax: 1000, ...transportOptions() });
  const state = { socket, name, messages: [], ids: new Set(), duplicates: 0, connects: 0, joined: null };
  socket.on("message:new", (message) => {
    if (message.conversationId !== CONVERSATION_ID) return;
    if (state.ids.has(message.id)) {
      state.duplicates += 1;
      return;
    }
    state.ids.add(message.id);
    state.messages.push(message);
  });
  socket.on("connect", () => {
    state.connects += 1;
    const after = state.messages.length ? Math.max(...state.ids) : undefined;
    state.joined = socket.timeout(WAIT_MS).emitWithAck("join", { conversationId: CONVERSATION_ID, ...(after ? { after } : {}) });
  });
  return state;
}

async function connected(state) {
  if (!state.socket.connected) await nextEvent(state.socket, "connect");
  const reply = await state.joined;
  if (reply.error) throw new Error(`join refused: ${JSON.stringify(reply.error)}`);
  return reply;
}

async function upgraded(state) {
  if (MODE === "websocket") return;
  const engine = state.socket.io.engine;
  if (engine.transport.name !== "websocket") await nextEvent(engine, "upgrade");
}

async function send(token, content, clientMessageId) {
  // A POST that lands on a dying worker is retried with the same clientMessageId: stored once.
  for (let attempt = 0; attempt < 20; attempt += 1) {
    try {
      const response = await fetch(`${SERVER}/api/messages`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify({ conversationId: CONVERSATION_ID, content, type: "text", clientMessageId }),
      });
      if (response.status === 201 || response.status === 200) return response.json();
      if (response.status < 500) throw new Error(`send refused: ${response.status} ${await response.text()}`);
    } catch (error) {
      if (error.message.startsWith("send refused")) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`send of ${clientMessageId} failed 20 times`);
}

async function basic() {
  // A bad credential: CONNECT_ERROR "unauthenticated" with a code, and the client stops retrying.
  const refused = io(SERVER, { auth: { token: "not-a-token" }, reconnectionDelay: 100, ...transportOptions() });
  const refusal = await nextEvent(refused, "connect_error");
  await new Promise((resolve) => setTimeout(resolve, 500));
  report("refused", { message: refusal.message, data: refusal.data ?? null, retrying: refused.active });
  refused.close();

  const client = participant("client");
  const provider = participant("provider");
  const [clientJoin, providerJoin] = [await connected(client), await connected(provider)];
  await Promise.all([upgraded(client), upgraded(provider)]);
  report("joined", {
    client: clientJoin, provider: providerJoin,
    transports: [client.socket.io.engine.transport.name, provider.socket.io.engine.transport.name],
  });

  const arrival = nextEvent(provider.socket, "message:new", { accept: (m) => m.content === "hello over socket.io" });
  const posted = Date.now();
  const sent = await send(TOKENS.client, "hello over socket.io", randomUUID());
  const received = await arrival;
  report("message", { sentId: sent.id, receivedId: received.id, seq: received.seq, sender: received.sender, millis: Date.now() - posted });

  const providerHearsTyping = nextEvent(provider.socket, "conversation:typing");
  client.socket.emit("conversation:typing", { conversationId: CONVERSATION_ID, isTyping: true });
  const clientHearsTyping = nextEvent(client.socket, "conversation:typing");
  provider.socket.emit("conversation:typing", { conversationId: CONVERSATION_ID, isTyping: true });
  report("typing", { toProvider: await providerHearsTyping, toClient: await clientHearsTyping });

  const errorAck = await client.socket.timeout(WAIT_MS).emitWithAck("join", { conversationId: 999999999 });
  const errorEvent = nextEvent(client.socket, "error");
  client.socket.emit("leave", { conversationId: "abc" });
  report("errors", { ack: errorAck, event: await errorEvent });

  const readAck = await provider.socket.timeout(WAIT_MS).emitWithAck("message:read", { conversationId: CONVERSATION_ID, messageId: received.id });
  report("read", { ack: readAck });

  client.socket.close();
  provider.socket.close();
}

async function kill() {
  const client = participant("client");
  const provider = participant("provider");
  await connected(client);
  await connected(provider);
  await upgraded(provider);
  const total = 40;
  const sentIds = [];
  for (let index = 0; index < total; index += 1) {
    if (index === total / 2) {
      const engine = provider.socket.io.engine;
      report("kill-now", { localPort: engine.transport.ws?._socket?.localPort ?? null, transport: engine.transport.name });
      await nextLine();
    }
    const message = await send(TOKENS.client, `kill test ${index}`, randomUUID());
    sentIds.push(message.id);
  }
  const deadline = Date.now() + 30_000;
  while (provider.messages.length < total && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  report("received", {
    sentIds,
    receivedIds: provider.messages.map((m) => m.id),
    duplicatesDropped: provider.duplicates,
    connects: provider.connects,
  });
  client.socket.close();
  provider.socket.close();
}

const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function nextLine() {
  const { value } = await stdinLines.next();
  return value;
}

try {
  await { basic, kill }[SCENARIO]();
  report("done");
  process.exit(0);
} catch (error) {
  report("failed", { error: String(error?.stack ?? error) });
  process.exit(1);
}
