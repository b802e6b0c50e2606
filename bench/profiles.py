"""Every parameter of a benchmark run, per mode: ``full`` (the recorded run), ``quick`` and ``smoke``.

The report prints the profile it ran with, so a figure is never read without its load shape.
By default a run measures what issue 15 asks for (delivery on uvicorn, 1 and 2 processes, ``/ws/`` and
Socket.IO over WebSocket, against the relay); the rest is a choice away (``--only all`` and so on).
"""

from dataclasses import dataclass, fields, replace

from bench.ablation import Revision

SECTIONS = ("typing", "delivery", "history", "list", "tokens", "capacity")
SERVERS = ("daphne", "uvicorn")
# How the product's receivers listen: the plain /ws/ dialect, or Socket.IO over WebSocket or long-polling.
TRANSPORTS = ("ws", "socketio-websocket", "socketio-polling")


@dataclass(frozen=True)
class Profile:
    mode: str
    sections: tuple[str, ...] = ("delivery",)
    # uvicorn is the production server (make serve); daphne is `make run`'s.
    servers: tuple[str, ...] = ("uvicorn",)
    # Server processes behind a delivery sweep: with N > 1 every pair sends through process i % N
    # and receives on process (i + 1) % N, so every message crosses processes through Redis.
    processes: tuple[int, ...] = (1, 2)
    # The relay is measured over plain WebSocket only. Long-polling is for clients that cannot upgrade.
    transports: tuple[str, ...] = ("ws", "socketio-websocket")
    # Other revisions of the product, each swept once on every server with the first process count and
    # the first transport (bench/ablation.py).
    ablation: tuple[Revision, ...] = ()
    load_processes: int = 2
    # "NAME=value" settings for the servers only (e.g. CHANNEL_LAYER_CAPACITY=5000), to compare configurations.
    server_env: tuple[str, ...] = ()

    # Delivery: K sender/receiver pairs, each in its own conversation, open-loop POSTs at a
    # total offered rate that doubles from start_rate until a step is unhealthy, then bisects.
    pairs: int = 20
    start_rate: float = 25.0
    max_rate: float = 3200.0
    # Where the search stops halving when even the start rate is unhealthy.
    min_rate: float = 6.25
    # Three halvings of the last doubling put neighbouring candidates 9 % apart (2 ** (1/8)): a knee that is to
    # stay within 10 % of before can be seen to. Two left them 19 % apart.
    bisections: int = 3
    rates: tuple[float, ...] = ()  # explicit rates instead of the search (e.g. to probe past a knee)
    step_seconds: float = 4.0
    warmup_seconds: float = 1.0
    # After the last response, pushes are awaited until none has come for this long.
    drain_seconds: float = 3.0
    # Each request in flight holds a PostgreSQL connection of its own (Django runs every ASGI request
    # in a new thread): the cap keeps the bench well under max_connections of a shared server.
    max_inflight_per_load_process: int = 24
    content_bytes: int = 120
    # A step is healthy when it sent and delivered >= this share of the offered messages,
    # lost none, got no errors, and its p99 stayed under healthy_p99_ms.
    healthy_share: float = 0.95
    healthy_p99_ms: float = 500.0
    # Pause for memory and queues to settle before a reading (capacity checkpoints, baselines).
    settle_seconds: float = 1.0

    # History: one conversation seeded with history_messages by one INSERT ... SELECT.
    history_messages: int = 1_000_000
    history_repeats: int = 60
    page_size: int = 50

    # Conversation list: one user in list_conversations conversations.
    list_conversations: int = 1000
    list_repeats: int = 60

    # Typing storm: the delivery pairs' two users, both joined, the typist alternating true/false
    # so that every event is forwarded; pg_stat_database is read before and after.
    typing_rate: float = 500.0
    typing_seconds: float = 5.0
    typing_control_sends: int = 20
    # PostgreSQL backends publish their counters when idle, at the latest after 10 s.
    pg_stats_settle_seconds: float = 11.0

    # Connection capacity: idle authenticated sockets on one fresh server process.
    capacity_sockets: int = 5000
    capacity_checkpoints: int = 5
    capacity_connect_concurrency: int = 50
    capacity_hold_seconds: float = 5.0
    capacity_ping_sample: int = 200

    # Token issuance: GET /api/meetings/{id}/token, closed loop.
    token_requests: int = 2000
    token_concurrency: int = 8

    def overridden(self, **changes) -> "Profile":
        known = {f.name for f in fields(self)}
        return replace(self, **{name: value for name, value in changes.items() if name in known and value is not None})


PROFILES = {
    "full": Profile(mode="full"),
    "quick": Profile(
        mode="quick",
        pairs=10,
        bisections=1,
        step_seconds=2.0,
        warmup_seconds=0.5,
        drain_seconds=2.0,
        history_messages=100_000,
        history_repeats=30,
        list_repeats=30,
        typing_seconds=2.0,
        capacity_sockets=1000,
        capacity_hold_seconds=2.0,
        token_requests=500,
    ),
    "smoke": Profile(
        mode="smoke",
        load_processes=1,
        pairs=2,
        start_rate=10.0,
        max_rate=10.0,
        min_rate=10.0,
        bisections=0,
        # Five messages a step on whatever machine runs the tests: the smoke run proves the plumbing, so a
        # step is healthy when nothing was refused or lost. How fast is the full run's to judge; one slow
        # push here would otherwise leave a sweep without its knee and the steps measured from it.
        healthy_share=0.0,
        healthy_p99_ms=60_000.0,
        step_seconds=0.5,
        warmup_seconds=0.0,
        drain_seconds=1.0,
        settle_seconds=0.1,
        history_messages=300,
        history_repeats=3,
        page_size=20,
        list_conversations=12,
        list_repeats=3,
        typing_rate=40.0,
        typing_seconds=0.5,
        typing_control_sends=2,
        pg_stats_settle_seconds=0.0,
        capacity_sockets=20,
        capacity_checkpoints=2,
        capacity_connect_concurrency=10,
        capacity_hold_seconds=0.2,
        capacity_ping_sample=5,
        token_requests=10,
        token_concurrency=2,
    ),
}
