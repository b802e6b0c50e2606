"""Summaries of raw samples, the targets of issues 6 and 15 judged against a run, and the printed tables."""

import math

TARGET_SOCKETS = 5000
TARGET_DEPTH_RATIO = 1.2
# Issue 15: the product against the relay measured in the same run, on the same server and process count.
TARGET_KNEE_SHARE = 0.6
TARGET_CPU_RATIO = 1.5
TARGET_P50_RATIO = 2.0
TARGET_P99_MS = 50.0
TARGET_TWO_PROCESS_GAIN = 1.6
CORE_GROUPS = ("server", "load", "postgres", "redis", "other")


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


def _step_figures(step: dict | None) -> dict | None:
    if step is None:
        return None
    return {
        "offeredPerSecond": step["offeredPerSecond"],
        "deliveredPerSecond": step["deliveredPerSecond"],
        "p50": step["latencyMs"]["p50"],
        "p99": step["latencyMs"]["p99"],
        "serverCpuMsPerMessage": step["serverCpuMsPerMessage"],
        "cores": step.get("cores"),
    }


def sweep_summary(sweep: dict, *, reference_rate: float) -> dict:
    """The figures issue 15 reads off a sweep: at the reference rate (25/s), at the knee, at half the knee, and
    what became of the excess at twice the knee."""
    steps = sweep["steps"]
    knee_step = max((s for s in steps if s["healthy"]), key=lambda s: s["deliveredPerSecond"], default=None)
    half = sweep.get("halfRateStep")
    overload = sweep.get("overloadStep")
    every_step = sweep_steps(sweep)
    return {
        "knee": sweep["sustainedPerSecond"],
        "referenceRate": reference_rate,
        "atReference": _step_figures(next((s for s in steps if s["offeredPerSecond"] == reference_rate), None)),
        "atKnee": _step_figures(knee_step),
        "atHalfKnee": _step_figures(half),
        "atTwiceKnee": None if overload is None else _overload_figures(overload),
        "lost": sum(s["lost"] for s in every_step),
        # Pushes the channel layer dropped (None where the server does not count them: the relay).
        "dropped": _total(s.get("dropped") for s in every_step),
    }


def sweep_steps(sweep: dict) -> list[dict]:
    """Every step of a sweep in the order it ran: the search, half the knee, twice the knee."""
    extra = [sweep.get("halfRateStep"), sweep.get("overloadStep")]
    return sweep["steps"] + [step for step in extra if step]


def _overload_figures(step: dict) -> dict:
    refused = [step.get("refusedInFlight"), step.get("refusedDeliveryLag")]
    return {
        "offeredPerSecond": step["offeredPerSecond"],
        "refused": None if None in refused else sum(refused),
        "lost": step["lost"],
        "dropped": step.get("dropped"),
    }


def _total(counts) -> int | None:
    known = [count for count in counts if count is not None]
    return sum(known) if known else None


def relay_ratios(sweep: dict, relay: dict) -> dict:
    """The product over the relay: knee, server CPU per message at the reference rate, p50 there."""
    ours, theirs = sweep["summary"], relay["summary"]

    def at_reference(key: str) -> float | None:
        return _ratio((ours["atReference"] or {}).get(key), (theirs["atReference"] or {}).get(key))

    return {
        "knee": _ratio(ours["knee"], theirs["knee"]),
        "cpuAtReference": at_reference("serverCpuMsPerMessage"),
        "p50AtReference": at_reference("p50"),
    }


def attach_relay_ratios(sweeps: list[dict], relays: list[dict]) -> None:
    """Each sweep of the product gets ``toRelay``, against the relay on its server and process count.

    The relay is measured over plain WebSocket: every transport of the product is compared with it.
    """
    by_config = {(relay["server"], relay["processes"]): relay for relay in relays}
    for sweep in sweeps:
        relay = by_config.get((sweep["server"], sweep["processes"]))
        if relay is not None:
            sweep["toRelay"] = relay_ratios(sweep, relay)


# Targets ------------------------------------------------------------------------------------


def _target(issue: int, name: str, scope: str, measured: str, met: bool | None, gap: str) -> dict:
    return {"issue": issue, "target": name, "scope": scope, "measured": measured, "met": met, "gap": gap}


def _at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def _delivery_targets(sweeps: list[dict]) -> list[dict]:
    found = []
    knees = {(s["server"], s["processes"], s["transport"]): s["summary"]["knee"] for s in sweeps}
    for sweep in sweeps:
        summary, ratios = sweep["summary"], sweep.get("toRelay", {})
        rate = summary["referenceRate"]
        scope = f"{sweep['server']} x{sweep['processes']} {sweep['transport']}"
        knee_share = ratios.get("knee")
        found.append(
            _target(
                15,
                f"knee >= {TARGET_KNEE_SHARE} x the relay's",
                scope,
                f"{summary['knee']} msgs/s = {knee_share} of the relay",
                None if knee_share is None else knee_share >= TARGET_KNEE_SHARE,
                ""
                if knee_share is None or knee_share >= TARGET_KNEE_SHARE
                else f"{round(TARGET_KNEE_SHARE - knee_share, 3)} short",
            )
        )
        for key, limit, what in (
            ("cpuAtReference", TARGET_CPU_RATIO, "server CPU per message"),
            ("p50AtReference", TARGET_P50_RATIO, "p50"),
        ):
            ratio = ratios.get(key)
            found.append(
                _target(
                    15,
                    f"{what} at {rate:g}/s <= {limit} x the relay's",
                    scope,
                    f"{ratio} x",
                    _at_most(ratio, limit),
                    "" if _at_most(ratio, limit) is not False else f"{round(ratio - limit, 2)} x over",
                )
            )
        half = summary["atHalfKnee"]
        p99 = half["p99"] if half else None
        found.append(
            _target(
                15,
                f"p99 <= {TARGET_P99_MS:g} ms at half the knee",
                scope,
                "no healthy rate" if half is None else f"p99 {p99} ms at {half['offeredPerSecond']} msgs/s",
                _at_most(p99, TARGET_P99_MS),
                "" if _at_most(p99, TARGET_P99_MS) is not False else f"{round(p99 - TARGET_P99_MS, 1)} ms over",
            )
        )
        overload = summary.get("atTwiceKnee")
        refused_cleanly = (
            None
            if overload is None or overload["refused"] is None
            else overload["refused"] > 0 and overload["lost"] == 0 and overload["dropped"] == 0
        )
        found.append(
            _target(
                15,
                "at twice the knee: the excess answered 503, nothing lost or dropped",
                scope,
                "no overload step"
                if overload is None
                else f"{overload['offeredPerSecond']} msgs/s offered: {overload['refused']} answered 503, "
                f"{overload['lost']} lost, {overload['dropped']} dropped",
                refused_cleanly,
                "" if refused_cleanly is not False else "see the measured figures",
            )
        )
        found.append(
            _target(
                15,
                "no accepted message lost, past the knee too",
                scope,
                f"{summary['lost']} lost",
                summary["lost"] == 0,
                "" if summary["lost"] == 0 else f"{summary['lost']} lost",
            )
        )
        one = knees.get((sweep["server"], 1, sweep["transport"]))
        if sweep["processes"] == 2 and one is not None:
            gain = _ratio(summary["knee"], one)
            found.append(
                _target(
                    15,
                    f"2 processes >= {TARGET_TWO_PROCESS_GAIN} x one process's knee (where the cores allow)",
                    f"{sweep['server']} {sweep['transport']}",
                    f"{summary['knee']} vs {one} msgs/s = {gain} x",
                    None if gain is None else gain >= TARGET_TWO_PROCESS_GAIN,
                    "" if gain is None or gain >= TARGET_TWO_PROCESS_GAIN else f"{gain} x",
                )
            )
    return found


def targets(results: dict) -> list[dict]:
    found = _delivery_targets([s for s in results.get("delivery", []) if s["app"] == "ours"])
    for history in results.get("history", []):
        ratio = history["depthRatio"]
        found.append(
            _target(
                6,
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
                    6,
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
                    6,
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
                6,
                "5,000 idle sockets in one process, memory per socket",
                capacity["server"],
                f"{held:,} held of {tried:,}, {capacity['kibPerSocket']} KiB/socket",
                met,
                gap,
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
        _section(
            "Parameters",
            table(["parameter", "value"], [[k, _parameter(k, v)] for k, v in results["parameters"].items()]),
        )
    )
    if results.get("delivery"):
        out.append(
            _section(
                "End-to-end delivery: from the start of POST /api/messages to message:new on the receiver's socket",
                _delivery(results),
            )
        )
    if results.get("ablation"):
        out.append(
            _section("Ablation: the same sweep served from each revision, then from this tree", _ablation(results))
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
            "Targets (issues 6 and 15)",
            table(
                ["issue", "target", "scope", "measured", "met", "gap"],
                [
                    [
                        t["issue"],
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


def _parameter(name: str, value):
    if name == "ablation":  # the subjects are in the ablation table
        return ", ".join(f"{revision['name']} ({revision['commit'][:13]})" for revision in value) or "()"
    return value


def _sweep_label(sweep: dict) -> str:
    return f"{sweep['app']} {sweep['server']} x{sweep['processes']} {sweep['transport']}"


def _cores(cores: dict | None) -> str | None:
    """Cores busy during a step: server / load / PostgreSQL / Redis / other, then the machine's total."""
    if not cores:
        return None
    return " / ".join(f"{cores[group]:.2f}" for group in CORE_GROUPS) + f" = {cores['machine']:.2f}"


def _latency_pair(figures: dict | None) -> str | None:
    if figures is None or figures["p50"] is None:
        return None
    return f"{figures['p50']:.1f} / {figures['p99']:.1f}"


def _figure(figures: dict | None, key: str):
    return figures[key] if figures else None


def _delivery(results: dict) -> str:
    sweeps = results["delivery"]
    rows = []
    for sweep in sweeps:
        for step in sweep_steps(sweep):
            latency = step["latencyMs"]
            rows.append(
                [
                    _sweep_label(sweep),
                    step["role"],
                    step["offeredPerSecond"],
                    step["acceptedPerSecond"],
                    step["deliveredPerSecond"],
                    latency["p50"],
                    latency["p95"],
                    latency["p99"],
                    latency["max"],
                    step["lost"],
                    step.get("dropped"),
                    step["errors"],
                    step.get("refusedInFlight"),
                    step.get("refusedDeliveryLag"),
                    step["skipped"],
                    step["socketsClosed"],
                    step["serverCpuMsPerMessage"],
                    _cores(step.get("cores")),
                    step["healthy"],
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
            "dropped",
            "errors",
            "of them 503 in flight",
            "503 delivery lag",
            "not sent",
            "sockets died",
            "server CPU ms/msg",
            "cores: server / load / PostgreSQL / Redis / other = machine",
            "healthy",
        ],
        rows,
    )
    return "\n\n".join(
        [
            "Every step:\n" + steps,
            "Knees (CPU is the servers' per accepted message; p50 / p99 from the start of the POST to the push):\n"
            + _knees(sweeps),
            "Against the relay (same server and process count, relay over /ws/, this run):\n"
            + table(
                ["sweep", "knee / relay", f"CPU ms/msg / relay at {_reference(sweeps)}", "p50 / relay there"],
                [
                    [
                        _sweep_label(sweep),
                        sweep["toRelay"]["knee"],
                        sweep["toRelay"]["cpuAtReference"],
                        sweep["toRelay"]["p50AtReference"],
                    ]
                    for sweep in sweeps
                    if sweep.get("toRelay")
                ],
            ),
            f"The machine at each knee ({results['machine']['cores']} cores; PostgreSQL and Redis serve anyone"
            " on the machine, other is everything not named):\n"
            + table(
                [
                    "sweep",
                    "load average at the sweep's start",
                    "knee step offered/s",
                    "cores: server / load / PostgreSQL / Redis / other = machine",
                ],
                [
                    [
                        _sweep_label(sweep),
                        " ".join(f"{v:.2f}" for v in sweep.get("loadAverageAtStart", ())),
                        _figure(sweep["summary"]["atKnee"], "offeredPerSecond"),
                        _cores(_figure(sweep["summary"]["atKnee"], "cores")),
                    ]
                    for sweep in sweeps
                ],
            ),
        ]
    )


def _reference(sweeps: list[dict]) -> str:
    return next((f"{s['summary']['referenceRate']:g}/s" for s in sweeps), "the reference rate")


def _knees(sweeps: list[dict]) -> str:
    rate = _reference(sweeps)
    return table(
        [
            "sweep",
            "knee msgs/s",
            "first unhealthy offered/s",
            f"CPU ms/msg at {rate}",
            "CPU ms/msg at the knee",
            f"p50 / p99 ms at {rate}",
            "half the knee offered/s",
            "p50 / p99 ms there",
            "lost",
            "dropped",
        ],
        [
            [
                _sweep_label(sweep),
                sweep["summary"]["knee"],
                sweep["saturatingOfferedPerSecond"],
                _figure(sweep["summary"]["atReference"], "serverCpuMsPerMessage"),
                _figure(sweep["summary"]["atKnee"], "serverCpuMsPerMessage"),
                _latency_pair(sweep["summary"]["atReference"]),
                _figure(sweep["summary"]["atHalfKnee"], "offeredPerSecond"),
                _latency_pair(sweep["summary"]["atHalfKnee"]),
                sweep["summary"]["lost"],
                sweep["summary"].get("dropped"),
            ]
            for sweep in sweeps
        ],
    )


def _ablation(results: dict) -> str:
    """One row per revision, oldest first as given, then the tree that ran the bench; each row's knee and
    CPU also as a ratio to the row before, which is the effect of the commits between them."""
    rows = []
    for server in dict.fromkeys(sweep["server"] for sweep in results["ablation"]):
        revisions = [sweep for sweep in results["ablation"] if sweep["server"] == server]
        first = revisions[0]
        this_tree = [
            {**sweep, "revision": {"name": "this tree", "commit": results["revision"], "subject": ""}}
            for sweep in results.get("delivery", [])
            if (sweep["app"], sweep["server"], sweep["processes"], sweep["transport"])
            == ("ours", server, first["processes"], first["transport"])
        ]
        previous = None
        for sweep in revisions + this_tree:
            summary, revision = sweep["summary"], sweep["revision"]
            cpu = _figure(summary["atReference"], "serverCpuMsPerMessage")
            rows.append(
                [
                    f"{server} x{sweep['processes']} {sweep['transport']}",
                    f"{revision['name']} ({revision['commit'][:13]})",
                    revision["subject"][:40],
                    summary["knee"],
                    _ratio(summary["knee"], previous["knee"]) if previous else None,
                    cpu,
                    _ratio(cpu, previous["cpu"]) if previous else None,
                    _figure(summary["atKnee"], "serverCpuMsPerMessage"),
                    _latency_pair(summary["atReference"]),
                    _latency_pair(summary["atHalfKnee"]),
                    sweep.get("toRelay", {}).get("knee"),
                    sweep.get("toRelay", {}).get("cpuAtReference"),
                    summary["lost"],
                ]
            )
            previous = {"knee": summary["knee"], "cpu": cpu}
    rate = _reference(results["ablation"])
    return table(
        [
            "sweep",
            "revision",
            "subject",
            "knee msgs/s",
            "knee / row above",
            f"CPU ms/msg at {rate}",
            "CPU / row above",
            "CPU ms/msg at the knee",
            f"p50 / p99 ms at {rate}",
            "p50 / p99 ms at half the knee",
            "knee / relay",
            f"CPU / relay at {rate}",
            "lost",
        ],
        rows,
    )


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
