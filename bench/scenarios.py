"""The measurements of issue 6, one function per section, each returning plain data for the report.

The orchestrator (this process) seeds and reads the bench database through Django; all load comes
from the LoadPool's processes; servers are separate processes it starts and reads from ``/proc``.
"""

import json
import math
import os
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import Resolver404, resolve
from rest_framework.test import APIClient

from accounts.models import User
from bench import seed
from bench.cpu import CpuReading
from bench.environment import database_activity
from bench.load import LoadPool
from bench.profiles import Profile
from bench.report import latency_summary, sweep_summary
from bench.servers import REPO_ROOT, ServerFleet, ServerProcess, wait_until_quiet
from messaging import selectors
from messaging.models import Message

MIB = 1024 * 1024


@dataclass
class Seeds:
    pairs: list[seed.SeededPair]
    lister: User | None = None
    history: seed.SeededHistory | None = None
    idle_users: list[User] = field(default_factory=list)
    meeting_id: int | None = None


@dataclass
class Bench:
    profile: Profile
    load: LoadPool
    env: dict
    log_dir: Path
    database_server: str
    database_name: str
    seeds: Seeds
    _tokens: dict = field(default_factory=dict)

    def token(self, user: User) -> str:
        if user.pk not in self._tokens:
            self._tokens[user.pk] = seed.token_for(user)
        return self._tokens[user.pk]

    def fleet(self, *, kind: str, app: str, count: int, root: Path = REPO_ROOT) -> ServerFleet:
        return ServerFleet(kind=kind, app=app, count=count, env=self.env, log_dir=self.log_dir, root=root)

    def split(self, items: list) -> list[list]:
        """Deal ``items`` round-robin over as many load processes as there are items, at most all of them."""
        workers = min(len(self.load), len(items)) or 1
        return [items[index::workers] for index in range(workers)]


def _delta(before: dict, after: dict) -> dict:
    return {key: after[key] - before[key] for key in before}


# Delivery ------------------------------------------------------------------------------------


def delivery_sweep(bench: Bench, fleet: ServerFleet, processes: int, transport: str = "ws") -> dict:
    """Find the knee of POST -> push for one server, app, process count and receiving transport, then time
    half of it.

    With several processes, pair i sends through process i % N and listens on process (i + 1) % N.
    """
    profile = bench.profile
    load_average = os.getloadavg()
    servers = fleet.processes[:processes]
    specs = [
        {
            "send_url": servers[index % processes].url,
            "ws_url": servers[(index + 1) % processes].ws_url,
            "receive_url": servers[(index + 1) % processes].url,
            "transport": transport,
            "sender_token": bench.token(pair.sender),
            "receiver_token": bench.token(pair.receiver),
            "conversation_id": pair.conversation_id,
        }
        for index, pair in enumerate(bench.seeds.pairs)
    ]
    shares = bench.split(specs)
    bench.load.call_each("pairs_open", [{"pairs": share, "warm_connections": 4} for share in shares])
    try:

        def step(rate: float, role: str, seconds: float = profile.step_seconds) -> dict:
            wait_until_quiet(servers)  # a saturated step's backlog must not bill the next one
            return _delivery_step(bench, servers, len(shares), rate=rate, seconds=seconds, role=role)

        if profile.warmup_seconds:
            step(profile.start_rate, "warm-up", profile.warmup_seconds)
        steps = knee_search(profile, step)
        healthy = [s for s in steps if s["healthy"]]
        sustained = round(max((s["deliveredPerSecond"] for s in healthy), default=0.0), 1)
        half = step(round(sustained / 2, 1), "half of knee") if sustained else None
        # Issue 15's overload check: offered twice what the product sustained, the excess must be refused
        # (503 + Retry-After) rather than accepted and then dropped on the way to the sockets.
        overload = step(round(sustained * 2, 1), "twice the knee") if sustained else None
    finally:
        bench.load.call_each("pairs_close", [{} for _ in shares])
    sweep = {
        "server": fleet.kind,
        "app": fleet.app,
        "processes": processes,
        "transport": transport,
        "pairs": len(specs),
        "loadAverageAtStart": load_average,
        "steps": steps,
        "halfRateStep": half,
        "overloadStep": overload,
        "sustainedPerSecond": sustained,
        "saturatingOfferedPerSecond": min((s["offeredPerSecond"] for s in steps if not s["healthy"]), default=None),
    }
    sweep["summary"] = sweep_summary(sweep, reference_rate=profile.start_rate)
    return sweep


def knee_search(profile: Profile, step) -> list[dict]:
    """Double from the start rate until a step is unhealthy, or halve until one is healthy (a busy machine,
    a slow revision), then bisect between the best healthy and the lowest unhealthy rate."""
    if profile.rates:
        return [step(rate, "fixed") for rate in profile.rates]
    steps, good, bad, rate = [], None, None, profile.start_rate
    while profile.min_rate <= rate <= profile.max_rate:
        steps.append(step(rate, "search"))
        if steps[-1]["healthy"]:
            good, rate = steps[-1], rate * 2
        else:
            bad, rate = steps[-1], rate / 2
        if good is not None and bad is not None:
            break
    for _ in range(profile.bisections):
        if good is None or bad is None:
            break
        steps.append(step(round(math.sqrt(good["offeredPerSecond"] * bad["offeredPerSecond"]), 1), "bisect"))
        if steps[-1]["healthy"]:
            good = steps[-1]
        else:
            bad = steps[-1]
    return steps


# What the product's GET /api/health counts, by the step's name for it: pushes the channel layer dropped, and
# sends refused 503 by each admission bound (realtime.admission).
HEALTH_COUNTS = {
    "dropped": ("publish", "dropped"),
    "refusedInFlight": ("sends", "rejected"),
    "refusedDeliveryLag": ("delivery", "rejected"),
}


def _health_counts(servers: list[ServerProcess]) -> dict[str, int | None]:
    """``HEALTH_COUNTS`` summed over the servers; None for the relay (no health endpoint) and for a count an
    ablation's older revision does not keep."""
    if any(server.app != "ours" for server in servers):
        return dict.fromkeys(HEALTH_COUNTS)
    bodies = []
    for server in servers:
        with urllib.request.urlopen(f"{server.url}/api/health", timeout=30) as response:
            bodies.append(json.load(response))
    return {
        name: sum(body[part][count] for body in bodies) if all(count in body.get(part, {}) for body in bodies) else None
        for name, (part, count) in HEALTH_COUNTS.items()
    }


def _delivery_step(
    bench: Bench, servers: list[ServerProcess], workers: int, *, rate: float, seconds: float, role: str
) -> dict:
    profile = bench.profile
    counts_before = _health_counts(servers)
    cpu_before = sum(server.cpu_seconds() for server in servers)
    start_at = time.time() + 0.15
    bench.load.submit_each(
        "delivery_step",
        [
            {
                "rate": rate / workers,
                "seconds": seconds,
                "start_at": start_at,
                "drain_seconds": profile.drain_seconds,
                "max_inflight": profile.max_inflight_per_load_process,
                "content_bytes": profile.content_bytes,
            }
        ]
        * workers,
    )
    time.sleep(max(start_at - time.time(), 0))
    # Who kept the cores busy while the load was offered: the servers, the load, PostgreSQL, Redis, the rest.
    measured = {"server": [server.pid for server in servers], "load": bench.load.pids}
    window_start = CpuReading.now(measured)
    time.sleep(seconds)
    cores = CpuReading.now(measured).cores_since(window_start)
    parts = bench.load.collect(workers)
    server_cpu = sum(server.cpu_seconds() for server in servers) - cpu_before
    counts = {
        name: None if before is None or after is None else after - before
        for (name, before), after in zip(counts_before.items(), _health_counts(servers).values(), strict=True)
    }

    statuses = Counter()
    for part in parts:
        statuses.update(part["statuses"])
    total = {
        key: sum(part[key] for part in parts)
        for key in (
            "offered",
            "skipped",
            "sent",
            "accepted",
            "delivered",
            "lost",
            "unexpected",
            "duplicates",
            "socketsClosed",
            "socketsReopened",
        )
    }
    span = max(part["spanSeconds"] for part in parts)
    latency = latency_summary([ms for part in parts for ms in part["latenciesMs"]])
    delivered_rate = total["delivered"] / span
    errors = total["sent"] - statuses.get("201", 0)
    healthy = (
        errors == 0
        and total["lost"] == 0
        and total["accepted"] >= profile.healthy_share * total["offered"]
        and delivered_rate >= profile.healthy_share * rate
        and latency["p99"] is not None
        and latency["p99"] <= profile.healthy_p99_ms
    )
    return {
        "role": role,
        "offeredPerSecond": rate,
        "seconds": seconds,
        **total,
        **counts,
        "errors": errors,
        "statuses": dict(statuses),
        "spanSeconds": round(span, 3),
        "acceptedPerSecond": round(total["accepted"] / seconds, 1),
        "deliveredPerSecond": round(delivered_rate, 1),
        "latencyMs": latency,
        "serverCpuMsPerMessage": round(server_cpu * 1000 / total["accepted"], 2) if total["accepted"] else None,
        "cores": cores,
        "healthy": healthy,
    }


# Typing storm --------------------------------------------------------------------------------


def typing_storm(bench: Bench, server: ServerProcess, *, measure_database: bool) -> dict:
    """Typists flip isTyping so every event is forwarded; the database's counters must not move."""
    profile = bench.profile
    specs = [
        {
            "ws_url": server.ws_url,
            "typist_token": bench.token(pair.sender),
            "listener_token": bench.token(pair.receiver),
            "conversation_id": pair.conversation_id,
        }
        for pair in bench.seeds.pairs
    ]
    shares = bench.split(specs)
    bench.load.call_each("typing_open", [{"pairs": share} for share in shares])
    try:
        if measure_database:
            seed.database_vacuum()
            time.sleep(profile.pg_stats_settle_seconds)
            before = database_activity(bench.database_server, bench.database_name)
        cpu_before = server.cpu_seconds()
        start_at = time.time() + 0.3
        parts = bench.load.call_each(
            "typing_storm",
            [{"rate": profile.typing_rate / len(shares), "seconds": profile.typing_seconds, "start_at": start_at}]
            * len(shares),
        )
        server_cpu = server.cpu_seconds() - cpu_before
    finally:
        bench.load.call_each("typing_close", [{} for _ in shares])
    sent = sum(part["sent"] for part in parts)
    forwarded = sum(part["forwarded"] for part in parts)
    result = {
        "server": server.kind,
        "typists": len(specs),
        "offeredPerSecond": profile.typing_rate,
        "offered": sum(part["offered"] for part in parts),
        "sent": sent,
        "forwarded": forwarded,
        "errors": sum(part["errors"] for part in parts),
        "socketsClosed": sum(part["socketsClosed"] for part in parts),
        "forwardedPerSecond": round(forwarded / max(part["spanSeconds"] for part in parts), 1),
        "serverCpuMsPerEvent": round(server_cpu * 1000 / sent, 3) if sent else None,
        "database": None,
    }
    if measure_database:
        time.sleep(profile.pg_stats_settle_seconds)
        during = _delta(before, database_activity(bench.database_server, bench.database_name))
        result["database"] = {
            "settleSeconds": profile.pg_stats_settle_seconds,
            "during": during,
            "transactionsPerForwardedEvent": round(during["transactions"] / forwarded, 4) if forwarded else None,
            **_control_sends(bench, server),
        }
    return result


def _control_sends(bench: Bench, server: ServerProcess) -> dict:
    """Messages sent the same way show the counters do see the server's queries."""
    profile = bench.profile
    pair = bench.seeds.pairs[0]
    before = database_activity(bench.database_server, bench.database_name)
    bodies = [
        json.dumps(
            {
                "conversationId": pair.conversation_id,
                "type": "text",
                "content": "control",
                "clientMessageId": str(uuid.uuid4()),
            }
        )
        for _ in range(profile.typing_control_sends)
    ]
    statuses = bench.load.call_one(
        "http_post_many", url=server.url, token=bench.token(pair.sender), path="/api/messages", bodies=bodies
    )
    time.sleep(profile.pg_stats_settle_seconds)
    control = _delta(before, database_activity(bench.database_server, bench.database_name))
    return {
        "controlSends": len(bodies),
        "controlStatuses": statuses,
        "control": control,
        "controlTransactionsPerSend": round(control["transactions"] / len(bodies), 2),
    }


# History -------------------------------------------------------------------------------------


def history_pages(bench: Bench, server: ServerProcess) -> dict:
    """The newest page, the middle, the oldest end and catch-up pages of one deep conversation."""
    profile, history = bench.profile, bench.seeds.history
    size, middle_seq = profile.page_size, max(history.message_count // 2, 1)
    ids = dict(
        Message.objects.filter(conversation_id=history.conversation_id, seq__in=[size + 1, middle_seq]).values_list(
            "seq", "id"
        )
    )
    cases = {
        "newest": {},
        "middle (before)": {"before": ids[middle_seq]},
        "oldest (before)": {"before": ids[size + 1]},
        "catch-up after, from the middle": {"after": ids[middle_seq]},
        "catch-up after, from the start": {"after": 0},
    }
    base = f"/api/messages/conversation/{history.conversation_id}?limit={size}"
    http = bench.load.call_one(
        "http_timing",
        url=server.url,
        token=bench.token(history.reader),
        repeats=profile.history_repeats,
        requests=[
            (name, base + "".join(f"&{key}={value}" for key, value in params.items())) for name, params in cases.items()
        ],
    )
    pages = []
    for name, params in cases.items():
        selector_ms = []
        for _ in range(profile.history_repeats):
            started = time.perf_counter()
            rows, _ = selectors.message_list_page(conversation_id=history.conversation_id, limit=size, **params)
            selector_ms.append((time.perf_counter() - started) * 1000)
        pages.append(
            {
                "page": name,
                "params": params,
                "rows": len(rows),
                "statuses": http[name]["statuses"],
                "http": latency_summary(http[name]["ms"]),
                "selector": latency_summary(selector_ms),
            }
        )
    newest = pages[0]
    for page in pages:
        page["ratioToNewest"] = round(page["http"]["p50"] / newest["http"]["p50"], 3)
        page["selectorRatioToNewest"] = round(page["selector"]["p50"] / newest["selector"]["p50"], 3)
    deepest = [page for page in pages if page["page"] in ("oldest (before)", "catch-up after, from the start")]
    return {
        "server": server.kind,
        "messages": history.message_count,
        "pageSize": size,
        "pages": pages,
        "depthRatio": max(page["ratioToNewest"] for page in deepest),
        "selectorDepthRatio": max(page["selectorRatioToNewest"] for page in deepest),
    }


# Conversation list and query counts ---------------------------------------------------------


def conversation_list(bench: Bench, server: ServerProcess) -> list[dict]:
    profile = bench.profile
    last_page = math.ceil(profile.list_conversations / settings.REST_FRAMEWORK["PAGE_SIZE"])
    cases = [("first page", "/api/conversations"), (f"last page ({last_page})", f"/api/conversations?page={last_page}")]
    http = bench.load.call_one(
        "http_timing",
        url=server.url,
        token=bench.token(bench.seeds.lister),
        requests=cases,
        repeats=profile.list_repeats,
    )
    return [
        {
            "server": server.kind,
            "case": name,
            "conversations": profile.list_conversations,
            "statuses": http[name]["statuses"],
            "bytes": http[name]["bytes"],
            "http": latency_summary(http[name]["ms"]),
        }
        for name, _ in cases
    ]


def query_counts(bench: Bench) -> dict:
    """Exact query counts of the list and of a send, in this process through the full request stack.

    Counted here rather than on a server because CaptureQueriesContext sees every query of one
    connection exactly, with no hook added to the product; the JWT is real, so the per-request user
    lookup is counted too. Sends are counted on the thread's path (``SEND_DATABASE_ON_LOOP`` off): the loop's
    runs the same statements over connections of its own (``kernel.loop_database``), which no capture of
    Django's connection sees.
    """
    profile = bench.profile
    client = APIClient(HTTP_HOST="127.0.0.1")

    def count(user: User, method: str, path: str, data: dict | None = None) -> int:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {bench.token(user)}")
        with CaptureQueriesContext(connection) as queries:
            response = getattr(client, method)(path, data, format="json")
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{method.upper()} {path} answered {response.status_code}: {response.content[:300]}")
        return len(queries.captured_queries)

    last_page = math.ceil(profile.list_conversations / settings.REST_FRAMEWORK["PAGE_SIZE"])
    pair = bench.seeds.pairs[0]
    lists = [{"case": "1 conversation", "queries": count(pair.sender, "get", "/api/conversations")}]
    if bench.seeds.lister is not None:
        lists += [
            {
                "case": f"{profile.list_conversations} conversations, first page",
                "queries": count(bench.seeds.lister, "get", "/api/conversations"),
            },
            {
                "case": f"{profile.list_conversations} conversations, last page",
                "queries": count(bench.seeds.lister, "get", f"/api/conversations?page={last_page}"),
            },
        ]
    targets = [("a conversation", pair.sender, pair.conversation_id)]
    if bench.seeds.history is not None:
        targets.append(
            (
                f"{bench.seeds.history.message_count:,} messages deep",
                bench.seeds.history.reader,
                bench.seeds.history.conversation_id,
            )
        )
    with override_settings(SEND_DATABASE_ON_LOOP=False):
        sends = [
            {
                "case": f"{label}, send {attempt}",
                "queries": count(
                    user,
                    "post",
                    "/api/messages",
                    {
                        "conversationId": conversation_id,
                        "type": "text",
                        "content": "counted",
                        "clientMessageId": str(uuid.uuid4()),
                    },
                ),
            }
            for label, user, conversation_id in targets
            for attempt in (1, 2)
        ]
    return {"conversationList": lists, "send": sends}


# Agora tokens --------------------------------------------------------------------------------


def token_route_missing() -> str | None:
    try:
        resolve("/api/meetings/1/token")
    except Resolver404:
        return "GET /api/meetings/{id}/token is not routed in this tree"
    return None


def token_issuance(bench: Bench, server: ServerProcess) -> dict:
    from tests.meetings.agora_decode import verify_token_007

    profile, pair = bench.profile, bench.seeds.pairs[0]
    burst = bench.load.call_one(
        "http_burst",
        url=server.url,
        token=bench.token(pair.sender),
        path=f"/api/meetings/{bench.seeds.meeting_id}/token",
        count=profile.token_requests,
        concurrency=profile.token_concurrency,
    )
    try:
        sample = json.loads(burst["sampleBody"])
        valid = verify_token_007(sample["token"], bench.env["AGORA_APP_CERTIFICATE"])
    except (ValueError, KeyError):
        valid = False
    return {
        "server": server.kind,
        "requests": profile.token_requests,
        "concurrency": profile.token_concurrency,
        "perSecond": round(profile.token_requests / burst["seconds"], 1),
        "statuses": burst["statuses"],
        "latencyMs": latency_summary(burst["latenciesMs"]),
        "tokenValid": valid,
    }


# Connection capacity -------------------------------------------------------------------------


def connection_capacity(bench: Bench, server: ServerProcess) -> dict:
    """Idle authenticated sockets on one fresh process, in steps, with its resident memory after each."""
    profile = bench.profile
    tokens = [bench.token(user) for user in bench.seeds.idle_users]
    # Open and close a few first, so lazy imports and pools are not billed to the sockets.
    bench.load.call_one("sockets_open", ws_url=server.ws_url, tokens=tokens[:10], concurrency=10)
    bench.load.call_one("sockets_close")
    time.sleep(profile.settle_seconds)
    baseline = server.rss_bytes()
    checkpoints, opened = [], 0
    chunk_size = math.ceil(len(tokens) / profile.capacity_checkpoints)
    for start in range(0, len(tokens), chunk_size):
        shares = bench.split(tokens[start : start + chunk_size])
        parts = bench.load.call_each(
            "sockets_open",
            [
                {
                    "ws_url": server.ws_url,
                    "tokens": share,
                    "concurrency": max(profile.capacity_connect_concurrency // len(shares), 1),
                }
                for share in shares
            ],
        )
        opened += sum(part["opened"] for part in parts)
        failures = Counter()
        for part in parts:
            failures.update(part["failures"])
        time.sleep(profile.settle_seconds)
        checkpoints.append(
            {
                "sockets": opened,
                "rssMiB": round(server.rss_bytes() / MIB, 1),
                "failures": dict(failures),
                "connectPerSecond": round(sum(len(share) for share in shares) / max(p["seconds"] for p in parts), 1),
            }
        )
    time.sleep(profile.capacity_hold_seconds)
    checks = bench.load.call_all("sockets_check", sample=math.ceil(profile.capacity_ping_sample / len(bench.load)))
    final = server.rss_bytes()
    bench.load.call_all("sockets_close")
    held = sum(check["held"] for check in checks)
    return {
        "server": server.kind,
        "target": len(tokens),
        "held": held,
        "checkpoints": checkpoints,
        "holdSeconds": profile.capacity_hold_seconds,
        "baselineRssMiB": round(baseline / MIB, 1),
        "finalRssMiB": round(final / MIB, 1),
        "kibPerSocket": round((final - baseline) / 1024 / held, 1) if held else None,
        "ping": latency_summary([ms for check in checks for ms in check["pingedMs"]]),
        "pingFailed": sum(check["pingFailed"] for check in checks),
    }
