"""Settings refuse an unsafe production start, pass Django's deployment check, and pick backends from the
environment; `make serve` runs them with DEBUG off."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_KEYS = {"SECRET_KEY": secrets.token_urlsafe(50), "JWT_SIGNING_KEY": secrets.token_urlsafe(40)}
PRODUCTION = {"DEBUG": "false", "ALLOWED_HOSTS": "chat.example.com", **PRODUCTION_KEYS}
# The development default of SECRET_KEY, and so of the JWT key, until 2026-11-30.
PUBLISHED_DEV_SECRET = "insecure-dev-only-secret-key-change-me"


def _clean_env(env: dict) -> dict:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "JWT_SIGNING_KEY", "ALLOWED_HOSTS", "DEBUG"}
    }
    return {**clean, **env}


def _import_settings(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import config.settings as s; print(s.DATABASES['default']['ENGINE']);"
            "print(s.CHANNEL_LAYERS['default']['BACKEND'])",
        ],
        cwd=ROOT,
        env=_clean_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_off_refuses_the_default_secret():
    result = _import_settings({"DEBUG": "false", "ALLOWED_HOSTS": "example.com"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_off_refuses_missing_allowed_hosts():
    result = _import_settings({**PRODUCTION, "ALLOWED_HOSTS": ""})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_debug_off_refuses_a_missing_jwt_signing_key():
    result = _import_settings({**PRODUCTION, "JWT_SIGNING_KEY": ""})
    assert result.returncode != 0
    assert "JWT_SIGNING_KEY" in result.stderr


def test_debug_off_refuses_a_short_jwt_signing_key():
    result = _import_settings({**PRODUCTION, "JWT_SIGNING_KEY": "k" * 31})
    assert result.returncode != 0
    assert "JWT_SIGNING_KEY" in result.stderr


def test_debug_off_refuses_secret_key_as_the_jwt_signing_key():
    result = _import_settings({**PRODUCTION, "JWT_SIGNING_KEY": PRODUCTION["SECRET_KEY"]})
    assert result.returncode != 0
    assert "JWT_SIGNING_KEY" in result.stderr


def test_debug_off_refuses_the_published_development_key():
    result = _import_settings({**PRODUCTION, "SECRET_KEY": PUBLISHED_DEV_SECRET})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_deployment_check_passes_without_a_warning_in_production():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_clean_env(PRODUCTION),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def _fake_bin(directory: Path) -> Path:
    """The Makefile's BIN with the venv's python behind a wrapper, and the stamp that makes `install` a no-op."""
    directory.mkdir()
    python = directory / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    (directory / "daphne").touch()
    os.utime(directory / "daphne", (4102444800, 4102444800))  # newer than requirements.txt
    return directory


def test_make_serve_runs_with_debug_off_so_it_refuses_to_start_without_keys(tmp_path):
    env = _clean_env({"DEBUG": "true", "ALLOWED_HOSTS": "chat.example.com", "SQLITE_PATH": str(tmp_path / "db")})
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        ["make", "--no-print-directory", "serve", f"BIN={_fake_bin(tmp_path / 'bin')}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DEBUG is off: set SECRET_KEY" in result.stderr


def test_no_urls_means_sqlite_and_in_memory_layer():
    result = _import_settings({"DATABASE_URL": "", "REDIS_URL": ""})
    assert result.stdout.split() == ["django.db.backends.sqlite3", "realtime.layers.InMemoryChannelLayer"]


def test_urls_mean_postgresql_and_redis_layer():
    result = _import_settings(
        {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    )
    assert result.stdout.split() == ["django.db.backends.postgresql", "realtime.layers.RedisChannelLayer"]


def test_trusted_proxies_that_are_not_addresses_refuse_the_start():
    result = _import_settings({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"})
    assert result.returncode != 0
    assert "TRUSTED_PROXIES" in result.stderr
