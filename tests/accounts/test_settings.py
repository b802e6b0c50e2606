"""Settings refuse an unsafe production start and pick backends from the environment."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _import_settings(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.DATABASES['default']['ENGINE']);"
                               "print(s.CHANNEL_LAYERS['default']['BACKEND'])"],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60,
    )


def test_debug_off_refuses_the_default_secret():
    result = _import_settings({"DEBUG": "false", "ALLOWED_HOSTS": "example.com"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_off_refuses_missing_allowed_hosts():
    result = _import_settings({"DEBUG": "false", "SECRET_KEY": "x" * 50})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_no_urls_means_sqlite_and_in_memory_layer():
    result = _import_settings({"DATABASE_URL": "", "REDIS_URL": ""})
    assert result.stdout.split() == ["django.db.backends.sqlite3", "realtime.layers.InMemoryChannelLayer"]


def test_urls_mean_postgresql_and_redis_layer():
    result = _import_settings({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
                               "REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert result.stdout.split() == ["django.db.backends.postgresql", "realtime.layers.RedisChannelLayer"]
