"""Summaries of raw samples, the targets of issue 6 judged against a run, and the printed tables."""

import math

TARGET_SOCKETS = 5000
TARGET_CEILING_SHARE = 0.5
TARGET_P99_MS = 50.0
TARGET_DEPTH_RATIO = 1.2


def percentile(sorted_values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    return sorted_values[max(math.ceil(share * len(sorted_values)) - 1, 0)]


def latency_summary(values_ms: list[float]) -> dict:
    ordered = sorted(values_ms)
    return {
        "count": len(ordered),
        "p50": percentile(ordered, 0.50),
        "p95": percentile(ordered, 0.95),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1] if ordered else None,
        "mean": round(sum(ordered) / len(ordered), 3) if ordered else None,
    }


def _ratio(numerator, denominator) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


# Targets ------------------------------------------------------------------------------------


def _target(name: str, scope: str, measured: str, met: bool | None, gap: str) -> dict:
    return {"target": name, "scope": scope, "measured": measured, "met": met, "gap": gap}


def targets(results: dict) -> list[dict]:
    found = []
    sweeps = {(s["server"], s["app"], s["processes"], s.get("transport", "ws")): s for s in results.get("delivery", [])}
    for (server, app, processes, transport), sweep in sweeps.items():
        if app != "ours":
            continue
        scope = f"{server}, {processes} process{'es' if processes > 1 else ''}, {transport}"
        relay = sweeps.get((server, "relay", processes, "ws"))
        if relay is not None:
            share = _ratio(sweep["sustainedPerSecond"], relay["sustainedPerSecond"])
            shortfall = round(TARGET_CEILING_SHARE * relay["sustainedPerSecond"] - sweep["sustainedPerSecond"], 1)
            found.append(
                _target(
                    "sustained msgs/s >= 50% of the relay ceiling",
                    scope,
                    f"{sweep['sustainedPerSecond']} vs {relay['sustainedPerSecond']} msgs/s = {share}",
                    None if share is None else share >= TARGET_CEILING_SHARE,
                    "" if share is None or share >= TARGET_CEILING_SHARE else f"{shortfall} msgs/s short",
                )
            )
        half = sweep.get("halfRateStep")
        p99 = half["latencyMs"]["p99"] if half else None
        found.append(
            _target(
                "delivery p99 <= 50 ms at half the saturating rate",
                scope,
                "no healthy rate" if half is None else f"p99 {p99} ms at {half['offeredPerSecond']} msgs/s",
                None if p99 is None else p99 <= TARGET_P99_MS,
                "" if p99 is None or p99 <= TARGET_P99_MS else f"{round(p99 - TARGET_P99_MS, 1)} ms over",
            )
        )
    for history in results.get("history", []):
        ratio = history["depthRatio"]
        found.append(
            _target(
                "deepest history page within 1.2x of the newest",
                f"{history['server']}, {history['messages']:,} messages",
                f"{ratio}x (HTTP p50)",
                None if ratio is None else ratio <= TARGET_DEPTH_RATIO,
                "" if ratio is None or ratio <= TARGET_DEPTH_RATIO else f"{round(ratio - TARGET_DEPTH_RATIO, 2)}x over",
            )
        )
    for typing in results.get("typing", []):
        per_event = typing["database"]["transactionsPerForwardedEvent"] if typing.get("database") else None
        if per_event is not None:
            found.append(
                _target(
                    "zero database queries per forwarded typing event",
                    typing["server"],
                    f"{typing['database']['during']['transactions']} transactions for {typing['forwarded']} events",
                    per_event == 0,
                    "" if per_event == 0 else f"{per_event} per event",
                )
            )
    queries = results.get("queryCounts")
    if queries:
        for name, counts in (("conversation list", queries["conversationList"]), ("send", queries["send"])):
            values = sorted({case["queries"] for case in counts})
            constant = len(values) == 1
            found.append(
                _target(
                    f"constant, small query count for the {name}",
                    "in-process, exact",
                    ", ".join(f"{case['case']}: {case['queries']}" for case in counts),
                    constant,
                    "" if constant else f"varies {values[0]}..{values[-1]}",
                )
            )
    for capacity in results.get("capacity", []):
        tried = capacity["target"]
        held = capacity["held"]
        met = held >= TARGET_SOCKETS if tried >= TARGET_SOCKETS else None
        gap = "" if met else ("not tried at 5,000 in this mode" if met is None else f"{TARGET_SOCKETS - held} short")
        found.append(
            _target(
                "5,000 idle sockets in one process, memory per socket",
                capacity["server"],
                f"{held:,} held of {tried:,}, {capacity['kibPerSocket']} KiB/socket",
                met,
                gap,
            )
        )
    servers = {s["server"] for s in results.get("delivery", [])}
    found.append(
        _target(
            "daphne and uvicorn both reported",
            "delivery",
            ", ".join(sorted(servers)) or "none",
            {"daphne", "uvicorn"} <= servers,
            "" if {"daphne", "uvicorn"} <= servers else "run both servers",
        )
    )
    return found


# Tables -------------------------------------------------------------------------------------


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(str(header)), *(len(row[i]) for row in cells)) for i, header in enumerate(headers)]
    lines = [
        " | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)),
        "-|-".join("-" * w for w in widths),
    ]
    lines += [
        " | ".join(
            value.rjust(w) if i else value.ljust(w) for i, (value, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    return "\n".join(lines)


def _section(title: str, body: str) -> str:
    return f"\n## {title}\n{body}\n"


def render(results: dict) -> str:
    out = [f"# Benchmark {results['startedAt']} ({results['parameters']['mode']} mode, git {results['revision']})"]
    machine = results["machine"]
    out.append(
        _section(
            "Machine",
            table(
                ["cores", "cpu", "memory GiB", "kernel", "python", "load average at start", "at end"],
                [
                    [
                        machine["cores"],
                        machine["cpuModel"],
                        machine["memoryGiB"],
                        machine["kernel"],
                        machine["python"],
                        " ".join(f"{v:.2f}" for v in machine["loadAverage"]),
                        " ".join(f"{v:.2f}" for v in machine.get("loadAverageAtEnd", ())),
                    ]
                ],
            ),
        )
    )
    out.append(_section("Versions", table(["package", "version"], [[k, v] for k, v in results["versions"].items()])))
    out.append(
        _section("Parameters", table(["parameter", "value"], [[k, v] for k, v in results["parameters"].items()]))
    )
    if results.get("delivery"):
        out.append(
            _section(
                "End-to-end delivery: from the start of POST /api/messages to message:new on the receiver's socket",
                _delivery(results),
            )
        )
    if results.get("typing"):
        out.append(
            _section(
                "Typing storm",
                table(
                    [
                        "server",
                        "offered/s",
                        "events sent",
                        "forwarded",
                        "forwarded/s",
                        "sockets died",
                        "server CPU ms/event",
                        "DB transactions during",
                        "rows read during",
                        "per forwarded event",
                        "control: transactions per send",
                    ],
                    [
                        [
                            t["server"],
                            t["offeredPerSecond"],
                            t["sent"],
                            t["forwarded"],
                            t["forwardedPerSecond"],
                            t["socketsClosed"],
                            t["serverCpuMsPerEvent"],
                            t["database"]["during"]["transactions"] if t.get("database") else None,
                            t["database"]["during"]["tuplesReturned"] if t.get("database") else None,
                            t["database"]["transactionsPerForwardedEvent"] if t.get("database") else None,
                            t["database"]["controlTransactionsPerSend"] if t.get("database") else None,
                        ]
                        for t in results["typing"]
                    ],
                ),
            )
        )
    if results.get("history"):
        rows = []
        for history in results["history"]:
            for case in history["pages"]:
                rows.append(
                    [
                        history["server"],
                        case["page"],
                        case["rows"],
                        case["http"]["p50"],
                        case["http"]["p95"],
                        case["selector"]["p50"] if case.get("selector") else None,
                        case["ratioToNewest"],
                    ]
                )
        out.append(
            _section(
                f"History pages over {results['history'][0]['messages']:,} messages in one conversation",
                table(
                    ["server", "page", "rows", "HTTP p50 ms", "HTTP p95 ms", "selector p50 ms", "HTTP p50 / newest"],
                    rows,
                ),
            )
        )
    if results.get("conversationList"):
        out.append(
            _section(
                "Conversation list",
                table(
                    ["server", "case", "conversations", "HTTP p50 ms", "HTTP p95 ms"],
                    [
                        [c["server"], c["case"], c["conversations"], c["http"]["p50"], c["http"]["p95"]]
                        for c in results["conversationList"]
                    ],
                ),
            )
        )
    if results.get("queryCounts"):
        counts = results["queryCounts"]
        out.append(
            _section(
                "Query counts (in-process, exact)",
                table(
                    ["request", "case", "queries"],
                    [["GET /api/conversations", c["case"], c["queries"]] for c in counts["conversationList"]]
                    + [["POST /api/messages", c["case"], c["queries"]] for c in counts["send"]],
                ),
            )
        )
    if results.get("capacity"):
        out.append(_section("Idle authenticated sockets on one server process", _capacity(results)))
    if results.get("channelLayerLeftovers"):
        left = results["channelLayerLeftovers"]
        out.append(
            _section(
                "Channel layer after every socket closed (then deleted)",
                f"{left['membershipsLeft']:,} group memberships left in {left['groupsLeft']:,} groups"
                f" ({left['keys']:,} keys under the run's prefix)",
            )
        )
    if "tokens" in results:
        out.append(_section("Agora token issuance: GET /api/meetings/{id}/token", _tokens(results["tokens"])))
    if results["errors"]:
        out.append(
            _section(
                "Sections that failed",
                "\n".join(
                    f"- {error['section']}: {error['traceback'].strip().splitlines()[-1]}"
                    for error in results["errors"]
                ),
            )
        )
    out.append(
        _section(
            "Targets (issue 6)",
            table(
                ["target", "scope", "measured", "met", "gap"],
                [
                    [
                        t["target"],
                        t["scope"],
                        t["measured"],
                        "n/a" if t["met"] is None else ("met" if t["met"] else "NOT met"),
                        t["gap"],
                    ]
                    for t in results["targets"]
                ],
            ),
        )
    )
    return "\n".join(out)


def _delivery(results: dict) -> str:
    rows, summary = [], []
    for sweep in results["delivery"]:
        label = f"{sweep['app']} {sweep['server']} x{sweep['processes']} {sweep.get('transport', 'ws')}"
        for step in sweep["steps"] + ([sweep["halfRateStep"]] if sweep.get("halfRateStep") else []):
            latency = step["latencyMs"]
            rows.append(
                [
                    label,
                    step["role"],
                    step["offeredPerSecond"],
                    step["acceptedPerSecond"],
                    step["deliveredPerSecond"],
                    latency["p50"],
                    latency["p95"],
                    latency["p99"],
                    latency["max"],
                    step["lost"],
                    step["errors"],
                    step["skipped"],
                    step["socketsClosed"],
                    step["serverCpuMsPerMessage"],
                    step["machineBusyPercent"],
                    step["healthy"],
                ]
            )
        summary.append(
            [
                label,
                sweep["sustainedPerSecond"],
                sweep["saturatingOfferedPerSecond"],
                sweep["halfRateStep"]["latencyMs"]["p99"] if sweep.get("halfRateStep") else None,
                sweep.get("ratioToRelay"),
            ]
        )
    steps = table(
        [
            "sweep",
            "step",
            "offered/s",
            "201/s",
            "delivered/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "lost",
            "errors",
            "not sent",
            "sockets died",
            "server CPU ms/msg",
            "machine busy %",
            "healthy",
        ],
        rows,
    )
    knees = table(
        [
            "sweep",
            "sustained msgs/s (knee)",
            "first unhealthy offered/s",
            "p99 ms at half the knee",
            "sustained / relay",
        ],
        summary,
    )
    return steps + "\n\n" + knees


def _capacity(results: dict) -> str:
    rows = []
    for capacity in results["capacity"]:
        for point in capacity["checkpoints"]:
            rows.append(
                [
                    capacity["server"],
                    point["sockets"],
                    point["rssMiB"],
                    point["connectPerSecond"],
                    point["failures"] or "",
                ]
            )
    summary = [
        [
            c["server"],
            c["target"],
            c["held"],
            c["baselineRssMiB"],
            c["finalRssMiB"],
            c["kibPerSocket"],
            c["ping"]["p50"],
            c["ping"]["max"],
            c["pingFailed"],
        ]
        for c in results["capacity"]
    ]
    return (
        table(["server", "sockets", "RSS MiB", "connects/s", "failures"], rows)
        + "\n\n"
        + table(
            [
                "server",
                "tried",
                "held after hold",
                "baseline RSS MiB",
                "final RSS MiB",
                "KiB per socket",
                "ping p50 ms",
                "ping max ms",
                "ping failed",
            ],
            summary,
        )
    )


def _tokens(tokens: list[dict] | dict) -> str:
    if isinstance(tokens, dict):
        return f"not available: {tokens['reason']}"
    return table(
        ["server", "requests", "concurrency", "tokens/s", "p50 ms", "p99 ms", "statuses", "valid"],
        [
            [
                t["server"],
                t["requests"],
                t["concurrency"],
                t["perSecond"],
                t["latencyMs"]["p50"],
                t["latencyMs"]["p99"],
                t["statuses"],
                t["tokenValid"],
            ]
            for t in tokens
        ],
    )
