"""Typed access to the environment: the only module that reads ``os.environ``."""

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


class ImproperlyConfiguredEnv(RuntimeError):
    """Raised at start-up when the environment cannot make a safe configuration."""


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfiguredEnv(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfiguredEnv(f"{name} must be a number, got {value!r}") from exc


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def env_durations(name: str, default: list[str]) -> list[float]:
    """A comma-separated list of durations, each a number with a unit (``5s``, ``30m``, ``2h``, ``1d``), in seconds."""
    seconds = []
    for item in env_list(name, default):
        unit = _DURATION_UNITS.get(item[-1:].lower())
        try:
            if unit is None:
                raise ValueError(item)
            seconds.append(float(item[:-1]) * unit)
        except ValueError as exc:
            raise ImproperlyConfiguredEnv(f"{name} must be durations such as 5s,30m,2h; got {item!r}") from exc
    return seconds


EMAIL_BACKEND_SMTP = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_BACKEND_CONSOLE = "django.core.mail.backends.console.EmailBackend"


@dataclass(frozen=True)
class EmailServer:
    """Where Django's email backend sends: the settings ``EMAIL_BACKEND``, ``EMAIL_HOST``... are read from it."""

    backend: str = EMAIL_BACKEND_CONSOLE
    host: str = "localhost"
    port: int = 25
    user: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False


# Scheme -> (STARTTLS, implicit TLS, default port).
_SMTP_SCHEMES = {"smtp": (False, False, 25), "smtp+tls": (True, False, 587), "smtps": (False, True, 465)}


def email_server_from_url(url: str) -> EmailServer:
    """``smtp://user:pass@host:port`` (plain, port 25), ``smtp+tls://`` (STARTTLS, 587), ``smtps://`` (implicit
    TLS, 465) or ``console://`` (printed on the server's standard output). User and password are percent-decoded,
    so a password may hold ``@`` or ``:`` written as ``%40`` and ``%3A``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "console":
        return EmailServer()
    if scheme not in _SMTP_SCHEMES:
        raise ImproperlyConfiguredEnv(
            f"EMAIL_URL must start with smtp://, smtp+tls://, smtps:// or console://, got {scheme or 'no'} scheme"
        )
    try:
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfiguredEnv("EMAIL_URL has a port that is not a number from 0 to 65535") from exc
    if not parts.hostname:
        raise ImproperlyConfiguredEnv("EMAIL_URL names no host")
    use_tls, use_ssl, default_port = _SMTP_SCHEMES[scheme]
    return EmailServer(
        backend=EMAIL_BACKEND_SMTP,
        host=parts.hostname,
        port=port or default_port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        use_tls=use_tls,
        use_ssl=use_ssl,
    )


def email_server_from_env() -> EmailServer:
    """``EMAIL_URL`` if set; else the usual ``EMAIL_HOST``, ``EMAIL_PORT``... with SMTP once ``EMAIL_HOST`` is
    set; else the console backend (``make run``: emails appear in the server's terminal)."""
    url = env_str("EMAIL_URL")
    if url:
        return email_server_from_url(url)
    host = env_str("EMAIL_HOST")
    if not host:
        return EmailServer()
    server = EmailServer(
        backend=EMAIL_BACKEND_SMTP,
        host=host,
        port=env_int("EMAIL_PORT", 25),
        user=env_str("EMAIL_HOST_USER"),
        password=env_str("EMAIL_HOST_PASSWORD"),
        use_tls=env_bool("EMAIL_USE_TLS"),
        use_ssl=env_bool("EMAIL_USE_SSL"),
    )
    if server.use_tls and server.use_ssl:
        raise ImproperlyConfiguredEnv("EMAIL_USE_TLS and EMAIL_USE_SSL exclude each other: set one.")
    return server
