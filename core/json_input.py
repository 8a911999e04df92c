"""JSON in and out of the API without a 5xx from input.

- `DepthLimitedJSONParser` refuses (400) a body nested deeper than JSON_MAX_DEPTH before decoding
  it: a thousand `[` took Python's json into RecursionError (500). The depth is counted over the
  raw bytes, outside strings, in one pass.
- `without_nul` replaces NUL characters, which PostgreSQL stores in no text or jsonb column, in
  what the API stores about a request (an error echoing the input, a replayed answer, a path).
"""

import io
import re
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

NUL_REPLACEMENT = "\ufffd"
# Brackets, quotes and backslashes: all the depth counter needs to look at.
_STRUCTURE = re.compile(rb'[\[\]{}"\\]')


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether `body` opens more than `limit` arrays or objects inside each other."""
    depth = 0
    in_string = False
    skip = -1  # the position of the character a backslash escapes
    for match in _STRUCTURE.finditer(body):
        position, char = match.start(), match.group()
        if in_string:
            if position == skip:
                continue
            if char == b"\\":
                skip = position + 1
            elif char == b'"':
                in_string = False
            continue
        if char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif char in (b"]", b"}"):
            depth -= 1
    return False


class DepthLimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        body = stream.read() if stream is not None else b""
        limit = settings.JSON_MAX_DEPTH
        if json_depth_exceeds(body, limit):
            raise ParseError(f"JSON parse error - nested deeper than {limit} levels.")
        return super().parse(io.BytesIO(body), media_type, parser_context)


def without_nul(value: Any) -> Any:
    """`value` (strings, lists and dicts of them) with every NUL character replaced."""
    if isinstance(value, str):
        return value.replace("\x00", NUL_REPLACEMENT) if "\x00" in value else value
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value
