"""Typed access to the environment: the only module that reads ``os.environ``."""

import os


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
