"""Load-generator processes. Each runs one asyncio loop that holds sockets and keep-alive HTTP
connections and serves the orchestrator's calls over a pipe, so the load never shares a process
(or an event loop) with what it measures. Times are ``time.perf_counter()`` within one process.
"""

import asyncio
import contextlib
import json
import multiprocessing
import time
import traceback
import uuid
from collections import Counter
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from bench.http_client import HttpPool
from bench.socketio_client import SocketIOClient

ORIGIN = "http://127.0.0.1"
MESSAGE_NEW = "message:new"
TYPING = "conversation:typing"


class LoadError(RuntimeError):
    pass


async def socket_open(ws_url: str, token: str) -> ClientConnection:
    # No compression offered and no client pings: the server's costs are what is measured.
    return await connect(
        ws_url,
        origin=ORIGIN,
        additional_headers={"Authorization": f"Bearer {token}"},
        compression=None,
        ping_interval=None,
        proxy=None,
        max_queue=None,
        open_timeout=30,
    )


async def socket_join(ws: ClientConnection, conversation_id: int) -> None:
    await ws.send(json.dumps({"event": "join", "data": {"conversationId": conversation_id}, "ref": "join"}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
        if frame.get("ref") == "join":
            if frame.get("event") != "join":
                raise LoadError(f"join {conversation_id} refused: {frame}")
            return


@dataclass
class Receiver:
    """One receiver socket joined to one conversation; records when each clientMessageId arrives."""

    server_url: str
    ws_url: str
    token: str
    conversation_id: int
    arrivals: dict
    transport: str = "ws"
    ws: ClientConnection | None = None
    sio: SocketIOClient | None = None
    task: asyncio.Task | None = None
    closed: int = 0
    duplicates: int = 0

    async def open(self) -> None:
        if self.transport == "ws":
            self.ws = await socket_open(self.ws_url, self.token)
            await socket_join(self.ws, self.conversation_id)
            self.task = asyncio.create_task(self._read())
            return
        self.sio = SocketIOClient(
            self.server_url, self.token, transport=self.transport.removeprefix("socketio-"), origin=ORIGIN
        )
        await self.sio.open()
        reply = await self.sio.emit_with_ack("join", {"conversationId": self.conversation_id})
        if not isinstance(reply, dict) or "error" in reply:
            raise LoadError(f"join {self.conversation_id} refused: {reply}")
        self.task = asyncio.create_task(self._read_socketio())

    @property
    def is_open(self) -> bool:
        if self.sio is not None:
            return not self.sio.closed
        return self.ws is not None and self.ws.state is State.OPEN

    def _arrived(self, message: dict, arrived: float) -> None:
        key = message.get("clientMessageId")
        if key in self.arrivals:
            self.duplicates += 1
        else:
            self.arrivals[key] = arrived

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                arrived = time.perf_counter()
                frame = json.loads(raw)
                if frame.get("event") == MESSAGE_NEW:
                    self._arrived(frame["data"], arrived)
        except ConnectionClosed:
            pass
        self.closed += 1

    async def _read_socketio(self) -> None:
        async for event, data in self.sio.events():
            if event == MESSAGE_NEW:
                self._arrived(data, time.perf_counter())
        self.closed += 1

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.sio is not None:
            await self.sio.close()
        if self.task is not None:
            await self.task


@dataclass
class Pair:
    conversation_id: int
    pool: HttpPool
    sender_headers: dict
    receiver: Receiver


@dataclass
class Typist:
    conversation_id: int
    typist: ClientConnection
    listener: ClientConnection
    received: int = 0
    errors: int = 0
    tasks: list = field(default_factory=list)

    async def count(self, ws: ClientConnection, *, is_listener: bool) -> None:
        try:
            async for raw in ws:
                event = json.loads(raw).get("event")
                if is_listener and event == TYPING:
                    self.received += 1
                elif event == "error":
                    self.errors += 1
        except ConnectionClosed:
            pass


def _milliseconds(samples: list[float]) -> list[float]:
    return [round(sample * 1000, 3) for sample in samples]


class LoadWorker:
    def __init__(self):
        self.pairs: list[Pair] = []
        self.pools: dict[str, HttpPool] = {}
        self.arrivals: dict[str, float] = {}
        self.typists: list[Typist] = []
        self.idle: list[ClientConnection] = []

    # Delivery ------------------------------------------------------------------------------

    async def pairs_open(self, *, pairs: list[dict], warm_connections: int) -> dict:
        for spec in pairs:
            if spec["send_url"] not in self.pools:
                self.pools[spec["send_url"]] = HttpPool(spec["send_url"], headers={"Content-Type": "application/json"})
                await self.pools[spec["send_url"]].warm(warm_connections)
            receiver = Receiver(
                spec["receive_url"],
                spec["ws_url"],
                spec["receiver_token"],
                spec["conversation_id"],
                self.arrivals,
                transport=spec["transport"],
            )
            await receiver.open()
            self.pairs.append(
                Pair(
                    spec["conversation_id"],
                    self.pools[spec["send_url"]],
                    {"Authorization": f"Bearer {spec['sender_token']}"},
                    receiver,
                )
            )
        return {"pairs": len(self.pairs)}

    async def delivery_step(
        self,
        *,
        rate: float,
        seconds: float,
        start_at: float,
        drain_seconds: float,
        max_inflight: int,
        content_bytes: int,
    ) -> dict:
        """Offer ``rate`` messages a second for ``seconds``, open loop, and time each POST to its push."""
        reopened = 0
        for pair in self.pairs:
            if not pair.receiver.is_open:
                await pair.receiver.open()
                reopened += 1
        closed_before = sum(pair.receiver.closed for pair in self.pairs)
        for pair in self.pairs:
            pair.receiver.duplicates = 0
        self.arrivals.clear()
        sends: dict[str, tuple[float, int | str]] = {}
        in_flight = set()
        skipped = 0
        padding = "x" * max(content_bytes - 24, 0)
        total = int(rate * seconds)

        async def send(pair: Pair, key: str) -> None:
            body = json.dumps(
                {
                    "conversationId": pair.conversation_id,
                    "type": "text",
                    "content": f"{key[:8]} {padding}",
                    "clientMessageId": key,
                }
            ).encode()
            started = time.perf_counter()
            try:
                status, _ = await pair.pool.request("POST", "/api/messages", body=body, headers=pair.sender_headers)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                status = type(exc).__name__
            sends[key] = (started, status)

        await asyncio.sleep(max(start_at - time.time(), 0))
        started = time.perf_counter()
        for index in range(total):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(in_flight) >= max_inflight:
                skipped += 1
                continue
            task = asyncio.create_task(send(self.pairs[index % len(self.pairs)], str(uuid.uuid4())))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.wait(set(in_flight), timeout=30)
        accepted = [key for key, (_, status) in sends.items() if status == 201]
        await self._drain(accepted, quiet_seconds=drain_seconds)
        latencies = sorted(self.arrivals[key] - sends[key][0] for key in accepted if key in self.arrivals)
        last_arrival = max((self.arrivals[key] for key in accepted if key in self.arrivals), default=started)
        return {
            "offered": total,
            "skipped": skipped,
            "sent": len(sends),
            "statuses": dict(Counter(str(status) for _, status in sends.values())),
            "accepted": len(accepted),
            "delivered": len(latencies),
            "lost": len(accepted) - len(latencies),
            "unexpected": len(set(self.arrivals) - set(sends)),
            "duplicates": sum(pair.receiver.duplicates for pair in self.pairs),
            "latenciesMs": _milliseconds(latencies),
            "spanSeconds": max(last_arrival - started, seconds),
            "socketsClosed": sum(pair.receiver.closed for pair in self.pairs) - closed_before,
            "socketsReopened": reopened,
        }

    async def _drain(self, accepted: list[str], *, quiet_seconds: float, limit_seconds: float = 60.0) -> None:
        """Wait for the pushes of ``accepted`` until all came or none came for ``quiet_seconds``.

        A backlog still draining is late, not lost: only what never comes once the pushes stop is lost.
        """
        started = time.perf_counter()
        seen, quiet_since = len(self.arrivals), started
        while any(key not in self.arrivals for key in accepted):
            now = time.perf_counter()
            if len(self.arrivals) != seen:
                seen, quiet_since = len(self.arrivals), now
            if now - quiet_since >= quiet_seconds or now - started >= limit_seconds:
                return
            await asyncio.sleep(0.02)

    async def pairs_close(self) -> dict:
        for pair in self.pairs:
            await pair.receiver.close()
        for pool in self.pools.values():
            pool.close()
        self.pairs, self.pools = [], {}
        return {}

    # Typing storm ---------------------------------------------------------------------------

    async def typing_open(self, *, pairs: list[dict]) -> dict:
        for spec in pairs:
            typist = await socket_open(spec["ws_url"], spec["typist_token"])
            listener = await socket_open(spec["ws_url"], spec["listener_token"])
            for ws in (typist, listener):
                await socket_join(ws, spec["conversation_id"])
            entry = Typist(spec["conversation_id"], typist, listener)
            entry.tasks = [
                asyncio.create_task(entry.count(typist, is_listener=False)),
                asyncio.create_task(entry.count(listener, is_listener=True)),
            ]
            self.typists.append(entry)
        return {"pairs": len(self.typists)}

    async def typing_storm(self, *, rate: float, seconds: float, start_at: float) -> dict:
        """Each typist flips isTyping on every event, so the server forwards every one of them."""
        for entry in self.typists:
            entry.received = entry.errors = 0
        total, sent = int(rate * seconds), 0
        await asyncio.sleep(max(start_at - time.time(), 0))
        started = time.perf_counter()
        for index in range(total):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            entry = self.typists[index % len(self.typists)]
            frame = {
                "event": TYPING,
                "data": {"conversationId": entry.conversation_id, "isTyping": (index // len(self.typists)) % 2 == 0},
            }
            try:
                await entry.typist.send(json.dumps(frame))
                sent += 1
            except ConnectionClosed:
                pass  # counted below as a socket the server closed
        send_seconds = time.perf_counter() - started
        deadline = time.perf_counter() + 5
        while time.perf_counter() < deadline and sum(entry.received for entry in self.typists) < sent:
            await asyncio.sleep(0.05)
        return {
            "offered": total,
            "sent": sent,
            "sendSeconds": send_seconds,
            "forwarded": sum(entry.received for entry in self.typists),
            "spanSeconds": time.perf_counter() - started,
            "errors": sum(entry.errors for entry in self.typists),
            "socketsClosed": sum(
                ws.state is not State.OPEN for entry in self.typists for ws in (entry.typist, entry.listener)
            ),
        }

    async def typing_close(self) -> dict:
        for entry in self.typists:
            await entry.typist.close()
            await entry.listener.close()
            await asyncio.gather(*entry.tasks)
        self.typists = []
        return {}

    # Idle sockets ---------------------------------------------------------------------------

    async def sockets_open(self, *, ws_url: str, tokens: list[str], concurrency: int) -> dict:
        failures: Counter = Counter()
        gate = asyncio.Semaphore(concurrency)

        async def one(token: str) -> None:
            async with gate:
                try:
                    self.idle.append(await socket_open(ws_url, token))
                except Exception as exc:  # every refusal is counted by kind, none stops the ramp
                    failures[type(exc).__name__] += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(token) for token in tokens))
        return {
            "opened": len(tokens) - sum(failures.values()),
            "failures": dict(failures),
            "seconds": time.perf_counter() - started,
        }

    async def sockets_check(self, *, sample: int) -> dict:
        open_sockets = [ws for ws in self.idle if ws.state is State.OPEN]
        round_trips, failed = [], 0
        for ws in open_sockets[:: max(len(open_sockets) // max(sample, 1), 1)][:sample]:
            started = time.perf_counter()
            try:
                await asyncio.wait_for(await ws.ping(), timeout=10)
                round_trips.append(time.perf_counter() - started)
            except (TimeoutError, ConnectionClosed):
                failed += 1
        return {"held": len(open_sockets), "pingedMs": _milliseconds(sorted(round_trips)), "pingFailed": failed}

    async def sockets_close(self) -> dict:
        await asyncio.gather(*(ws.close() for ws in self.idle), return_exceptions=True)
        self.idle = []
        return {}

    # Plain HTTP -----------------------------------------------------------------------------

    async def http_timing(self, *, url: str, token: str, requests: list[tuple[str, str]], repeats: int) -> dict:
        """Time each named GET ``repeats`` times, interleaved, so drift hits every name alike."""
        pool = HttpPool(url, headers={"Authorization": f"Bearer {token}"})
        results = {name: {"ms": [], "statuses": Counter(), "bytes": 0} for name, _ in requests}
        try:
            for _ in range(repeats):
                for name, path in requests:
                    started = time.perf_counter()
                    status, body = await pool.request("GET", path)
                    results[name]["ms"].append(round((time.perf_counter() - started) * 1000, 3))
                    results[name]["statuses"][str(status)] += 1
                    results[name]["bytes"] = len(body)
        finally:
            pool.close()
        return {name: {**result, "statuses": dict(result["statuses"])} for name, result in results.items()}

    async def http_post_many(self, *, url: str, token: str, path: str, bodies: list[str]) -> dict:
        pool = HttpPool(url, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        statuses = Counter()
        try:
            for body in bodies:
                status, _ = await pool.request("POST", path, body=body.encode())
                statuses[str(status)] += 1
        finally:
            pool.close()
        return dict(statuses)

    async def http_burst(self, *, url: str, token: str, path: str, count: int, concurrency: int) -> dict:
        """``count`` GETs from ``concurrency`` closed-loop clients; the rate is count over the elapsed time."""
        pool = HttpPool(url, headers={"Authorization": f"Bearer {token}"})
        remaining = iter(range(count))
        latencies, statuses = [], Counter()
        sample_body = b""

        async def client() -> None:
            nonlocal sample_body
            for _ in remaining:
                started = time.perf_counter()
                status, sample_body = await pool.request("GET", path)
                latencies.append(time.perf_counter() - started)
                statuses[str(status)] += 1

        started = time.perf_counter()
        try:
            await asyncio.gather(*(client() for _ in range(concurrency)))
        finally:
            pool.close()
        return {
            "seconds": time.perf_counter() - started,
            "latenciesMs": _milliseconds(sorted(latencies)),
            "statuses": dict(statuses),
            "sampleBody": sample_body.decode(errors="replace")[:2000],
        }

    async def close_all(self) -> None:
        await self.pairs_close()
        await self.typing_close()
        await self.sockets_close()


async def _serve(conn) -> None:
    worker = LoadWorker()
    loop = asyncio.get_running_loop()
    try:
        while True:
            call = await loop.run_in_executor(None, conn.recv)
            if call is None:
                return
            method, kwargs = call
            try:
                conn.send(("ok", await getattr(worker, method)(**kwargs)))
            except Exception:
                conn.send(("error", traceback.format_exc()))
    finally:
        await worker.close_all()


def _worker_main(conn) -> None:
    asyncio.run(_serve(conn))


class LoadPool:
    """Load-generator processes the orchestrator calls by method name; a failure in one is raised here."""

    def __init__(self, count: int):
        context = multiprocessing.get_context("spawn")
        self._connections, self._processes = [], []
        for _ in range(count):
            parent, child = context.Pipe()
            process = context.Process(target=_worker_main, args=(child,), daemon=True)
            process.start()
            self._connections.append(parent)
            self._processes.append(process)

    def __len__(self) -> int:
        return len(self._processes)

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes]

    def __enter__(self) -> "LoadPool":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def submit_each(self, method: str, kwargs_per_worker: list[dict]) -> None:
        """Start ``method`` on the first len(kwargs_per_worker) workers; ``collect`` waits for them."""
        for conn, kwargs in zip(self._connections, kwargs_per_worker, strict=False):
            conn.send((method, kwargs))

    def collect(self, count: int) -> list:
        results = [conn.recv() for conn in self._connections[:count]]
        failures = [detail for outcome, detail in results if outcome == "error"]
        if failures:
            raise LoadError("load worker failed:\n" + "\n".join(failures))
        return [detail for _, detail in results]

    def call_each(self, method: str, kwargs_per_worker: list[dict]) -> list:
        """Call ``method`` on the first len(kwargs_per_worker) workers at once and wait for all."""
        self.submit_each(method, kwargs_per_worker)
        return self.collect(len(kwargs_per_worker))

    def call_all(self, method: str, **kwargs) -> list:
        return self.call_each(method, [kwargs] * len(self._processes))

    def call_one(self, method: str, **kwargs):
        return self.call_each(method, [kwargs])[0]

    def close(self) -> None:
        for conn, process in zip(self._connections, self._processes, strict=True):
            if process.is_alive():
                with contextlib.suppress(OSError):
                    conn.send(None)
            process.join(timeout=15)
            if process.is_alive():
                process.kill()
