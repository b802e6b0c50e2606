"""The API's JSON parser: DRF's, with nesting refused as a 400 rather than failing as a 500.

A few KiB of ``[[[[...`` nest deeper than the interpreter's recursion limit, and ``json`` raises
``RecursionError``, which DRF's parser does not catch. Nesting under that limit would still reach the
serializers, which walk what they are given recursively, with less stack to spare; so documents deeper
than ``JSON_MAX_DEPTH`` are refused too.
"""

from collections.abc import Iterable
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# The API's inputs are flat objects: 32 levels are generous and stay far below the recursion limit.
JSON_MAX_DEPTH = 32


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {JSON_MAX_DEPTH} levels.") from None
        if nesting_exceeds(data, JSON_MAX_DEPTH):
            raise ParseError(f"JSON parse error - nested deeper than {JSON_MAX_DEPTH} levels.")
        return data


def nesting_exceeds(document, max_depth: int) -> bool:
    """Whether lists and objects in ``document`` nest deeper than ``max_depth`` (walked without recursion)."""
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > max_depth:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False
