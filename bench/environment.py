"""The bench's own PostgreSQL database and Redis namespace, the server environment, and the machine.

The bench never touches the tests' databases: it drops and creates its own database on the same
PostgreSQL server and gives the channel layer a prefix of its own on the same Redis.
"""

import json
import os
import platform
import resource
import secrets
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis

AGORA_VECTORS = Path(__file__).resolve().parent.parent / "tests" / "meetings" / "agora_vectors.json"
PACKAGES = (
    "Django",
    "djangorestframework",
    "djangorestframework-simplejwt",
    "channels",
    "channels-redis",
    "daphne",
    "Twisted",
    "autobahn",
    "uvicorn",
    "h11",
    "websockets",
    "psycopg",
    "redis",
)
# The message_send throttle guards users from each other; the bench's senders must not hit it.
UNTHROTTLED = "1000000/s"


def database_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin_connection(server_url: str) -> psycopg.Connection:
    return psycopg.connect(database_url(server_url, "postgres"), autocommit=True)


def database_recreate(server_url: str, name: str) -> None:
    with _admin_connection(server_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def database_drop(server_url: str, name: str) -> None:
    with _admin_connection(server_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_activity(server_url: str, name: str) -> dict[str, int]:
    """The database's transaction and row counters, read from another database so reading them adds nothing."""
    with _admin_connection(server_url) as admin:
        row = admin.execute(
            "SELECT xact_commit + xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted"
            " FROM pg_stat_database WHERE datname = %s",
            [name],
        ).fetchone()
    keys = ("transactions", "tuplesReturned", "tuplesFetched", "tuplesInserted", "tuplesUpdated", "tuplesDeleted")
    return dict(zip(keys, row, strict=True))


def server_environment(*, database: str, redis_url: str, run_id: str) -> dict[str, str]:
    vectors = json.loads(AGORA_VECTORS.read_text())["shared"]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "CHANNEL_LAYER_PREFIX": f"bench-{run_id}-{os.getpid()}",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(48),
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on the loopback
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "THROTTLE_MESSAGE_SEND": UNTHROTTLED,
        # Under ASGI every request runs in a thread of its own, so a persistent connection (the default
        # 60 s) is left behind by each request until garbage collection: under load that exhausts
        # max_connections of a PostgreSQL others share. See docs/performance.md, "Proposed fixes".
        "DB_CONN_MAX_AGE": "0",
        "JWT_ACCESS_MINUTES": "240",
        "LOG_LEVEL": "WARNING",
        "AGORA_APP_ID": vectors["appId"],
        "AGORA_APP_CERTIFICATE": vectors["appCertificate"],
        "PYTHONUNBUFFERED": "1",
    }


def machine_description() -> dict:
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:")
    )
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cores": os.cpu_count(),
        "cpuModel": cpu_model,
        "memoryGiB": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "loadAverage": os.getloadavg(),
    }


def versions(*, server_url: str, redis_url: str) -> dict[str, str]:
    found = {}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    with _admin_connection(server_url) as admin:
        found["PostgreSQL"] = admin.execute("SHOW server_version").fetchone()[0]
    found["Redis"] = _redis_version(redis_url)
    return found


def _redis_version(redis_url: str) -> str:
    client = redis.Redis.from_url(redis_url)
    try:
        return client.info("server")["redis_version"]
    finally:
        client.close()


def channel_layer_leftovers(redis_url: str, prefix: str) -> dict[str, int]:
    """What the run's sockets left in Redis once all of them had closed, then delete the run's keys.

    Group members left behind are channels a disconnect failed to remove: until ``group_expiry``
    every send to those groups is still written to them.
    """
    client = redis.Redis.from_url(redis_url)
    try:
        # channels_redis names groups "<prefix>:group:<name>" and channels "<prefix>specific.<id>!...".
        keys = [
            key
            for pattern in (f"{prefix}:*", f"{prefix}specific.*")
            for key in client.scan_iter(match=pattern, count=1000)
        ]
        groups = [key for key in keys if key.startswith(f"{prefix}:group:".encode())]
        members = sum(client.zcard(key) for key in groups)
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
    finally:
        client.close()
    return {"keys": len(keys), "groupsLeft": len(groups), "membershipsLeft": members}


def raise_open_files_limit() -> int:
    """Lift the soft descriptor limit to the hard one for the bench and the servers it starts."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
