"""The JSON forms of values that REST answers and socket pushes share, written as DRF's fields write
them, so a payload built once by an app's ``events`` module reads the same over both."""

import json
from datetime import datetime
from decimal import Decimal

from django.utils import timezone


def iso_datetime(value: datetime | None) -> str | None:
    """ISO 8601 in the current time zone, UTC written as ``Z`` (DRF's ``DateTimeField``)."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def decimal_string(value: Decimal, places: int) -> str:
    """Fixed-point with ``places`` decimals, never an exponent (DRF's ``DecimalField``, coerced to a string)."""
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")


def canonical_json(value) -> bytes:
    """``value`` as the one JSON text its data gives: keys sorted at every level, no whitespace (``,`` and ``:``),
    non-ASCII characters as themselves, UTF-8; no floats other than finite ones. What is hashed or signed is
    serialized so (the locked terms, the conversation record's links, evidence bundles), and a reader can
    recompute it byte for byte."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
