"""Command line of the benchmark: ``python -m bench`` (full), ``--quick``, ``--smoke``; see docs/performance.md."""

import argparse
import os
import sys
from pathlib import Path

from bench.ablation import revisions_resolve
from bench.profiles import PROFILES, SECTIONS, SERVERS, TRANSPORTS
from bench.run import run


def _numbers(kind):
    return lambda text: tuple(kind(part) for part in text.split(",") if part)


def _names(allowed):
    """Comma-separated names among ``allowed``, or ``all`` of them."""

    def parse(text):
        if text == "all":
            return tuple(allowed)
        names = tuple(part for part in text.split(",") if part)
        unknown = set(names) - set(allowed)
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown: {', '.join(sorted(unknown))}; choose from {', '.join(allowed)}")
        return names

    return parse


def _revisions(text):
    try:
        return revisions_resolve(tuple(part for part in text.split(",") if part))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _setting(text):
    name, sep, _ = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError("expected NAME=VALUE")
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick", action="store_const", dest="mode", const="quick", help="a few minutes, smaller numbers"
    )
    mode.add_argument(
        "--smoke",
        action="store_const",
        dest="mode",
        const="smoke",
        help="tiny numbers: checks the harness works, measures nothing",
    )
    parser.add_argument(
        "--only",
        type=_names(SECTIONS),
        dest="sections",
        help=f"sections: {','.join(SECTIONS)} or all (default delivery)",
    )
    parser.add_argument("--servers", type=_names(SERVERS), help="daphne,uvicorn or all (default uvicorn)")
    parser.add_argument("--processes", type=_numbers(int), help="server processes per delivery sweep (default 1,2)")
    parser.add_argument(
        "--transports",
        type=_names(TRANSPORTS),
        help=f"how receivers listen: {','.join(TRANSPORTS)} or all (default ws,socketio-websocket)",
    )
    parser.add_argument(
        "--ablation",
        type=_revisions,
        metavar="REV1,REV2,...",
        help="git revisions of the product, each served from a temporary worktree and swept like this tree"
        " (first process count, first transport), one row each; oldest first",
    )
    parser.add_argument("--rates", type=_numbers(float), help="fixed offered rates (msgs/s) instead of the knee search")
    parser.add_argument(
        "--server-env",
        action="append",
        type=_setting,
        dest="server_env",
        metavar="NAME=VALUE",
        help="a setting for the servers only; repeatable",
    )
    parser.add_argument("--pairs", type=int, help="sender/receiver pairs")
    parser.add_argument(
        "--max-inflight",
        type=int,
        dest="max_inflight_per_load_process",
        help="requests in flight per load process (each holds a database connection)",
    )
    parser.add_argument("--load-processes", type=int, dest="load_processes")
    parser.add_argument("--step-seconds", type=float, dest="step_seconds")
    parser.add_argument("--history-messages", type=int, dest="history_messages")
    parser.add_argument("--capacity-sockets", type=int, dest="capacity_sockets")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/"),
        help="PostgreSQL server (its database name is ignored); default $DATABASE_URL",
    )
    parser.add_argument(
        "--redis",
        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="Redis for the channel layer; default $REDIS_URL",
    )
    parser.add_argument("--database", help="the bench's own database, dropped and created (default bench)")
    parser.add_argument("--drop-database", action="store_true", help="drop the bench database at the end")
    parser.add_argument("--output", type=Path, help="JSON path (default bench/results/<timestamp>.json)")
    args = parser.parse_args(argv)
    if args.ablation and args.sections and "delivery" not in args.sections:
        parser.error("--ablation sweeps delivery: add delivery to --only")

    mode = args.mode or "full"
    overrides = {
        name: getattr(args, name)
        for name in (
            "sections",
            "servers",
            "processes",
            "transports",
            "rates",
            "pairs",
            "max_inflight_per_load_process",
            "load_processes",
            "step_seconds",
            "history_messages",
            "capacity_sockets",
            "ablation",
        )
    }
    overrides["server_env"] = tuple(args.server_env) if args.server_env else None
    profile = PROFILES[mode].overridden(**overrides)
    results = run(
        profile,
        database_server=args.postgres,
        redis_url=args.redis,
        database_name=args.database or ("bench_smoke" if mode == "smoke" else "bench"),
        output=args.output,
        drop_database=args.drop_database or mode == "smoke",
    )
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
