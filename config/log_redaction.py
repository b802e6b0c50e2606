"""Keeps credentials out of every log line the process writes: tickets, tokens and Socket.IO session ids
(whoever holds one can poll that session) in query strings, ``Authorization`` and session cookie values,
anything shaped like a JWT, and the token of an email's unsubscribe link.

It is a log-record factory installed by ``LOGGING_CONFIG``, so it covers every logger in the process, the
servers' own included, not only the handlers configured here: uvicorn logs a socket's URL with its query
string (``?ticket=...``) at INFO and the handshake's headers at DEBUG. daphne's access log is written
around ``logging`` but shows sockets' paths without their query string.
"""

import logging
import logging.config
import re
from collections.abc import Callable

REDACTED = "[redacted]"
_PATTERNS = [
    (
        re.compile(r"(?i)([?&](?:ticket|token|access|refresh|jwt|access_token|refresh_token|sid)=)[^&\s\"']+"),
        rf"\g<1>{REDACTED}",
    ),
    (re.compile(r"(?i)\b(authorization:\s*(?:bearer\s+|basic\s+|token\s+)?)[^\s\"',]+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"(?i)\b((?:sessionid|csrftoken)=)[^;\s\"']+"), rf"\g<1>{REDACTED}"),
    (re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*"), REDACTED),
    # An email's unsubscribe link (notifications): whoever holds it can turn that user's emails off.
    (re.compile(r"(/unsubscribe/)[^\s\"'?/]+"), rf"\g<1>{REDACTED}"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redacting(factory: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is left for the handler to report as it always does
            return record
        redacted = redact(message)
        if redacted == message:
            return record
        # Redacted argument by argument where that is enough, so that formatters which read the arguments
        # (uvicorn's access log unpacks its five) still get them; otherwise the whole message.
        if isinstance(record.args, tuple) and isinstance(record.msg, str):
            args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
            try:
                if redact(record.msg) == record.msg and record.msg % args == redacted:
                    record.args = args
                    return record
            except (TypeError, ValueError):
                pass
        record.msg, record.args = redacted, ()
        return record

    make_record.redacts_credentials = True  # type: ignore[attr-defined]  # a marker; mypy gives functions no attributes
    return make_record


def configure_logging(config: dict) -> None:
    """Django's ``LOGGING_CONFIG``: apply ``LOGGING``, with every record of the process redacted."""
    if not getattr(logging.getLogRecordFactory(), "redacts_credentials", False):
        logging.setLogRecordFactory(_redacting(logging.getLogRecordFactory()))
    logging.config.dictConfig(config)
