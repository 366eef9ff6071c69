"""JSON as some upstream panels actually write it.

Two typos appear in the providers' own documented answers, and panels built from the same code
send them for real: a missing comma at the end of a line (seeds 002 and 003) and a bare word
used as a value (`"type": default`, seed 002). `loads_lenient` repairs exactly those two, and
only between tokens it has read correctly; anything else (HTML, plain text, a truncated body)
is refused with ValueError rather than guessed at.
"""

import json
import re
from decimal import Decimal
from typing import Any

__all__ = ["loads", "loads_lenient"]

_BOM = "\ufeff"

# One token of JSON text. Strings are read whole (escapes included) so that nothing inside a
# string is ever taken for structure.
_TOKEN = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<string>"(?:[^"\\\x00-\x1f]|\\.)*")
    | (?P<number>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.]))
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<punct>[{}\[\]:,])
    """,
    re.VERBOSE,
)
_LITERALS = {"true", "false", "null"}
_VALUE_START = {"string", "number", "word", "{", "["}
_VALUE_END = {"string", "number", "word", "}", "]"}


def loads(text: str) -> Any:
    """Strict JSON, with decimals read exactly (no binary float for a price like 0.1)."""
    return json.loads(text, parse_float=Decimal)


def loads_lenient(text: str) -> Any:
    """Parse `text` as JSON, repairing only the typos documented upstream; ValueError otherwise."""
    text = text.lstrip(_BOM).strip()
    if not text:
        raise ValueError("empty body")
    try:
        return loads(text)
    except ValueError as error:
        strict_error = error
    if text[0] not in "[{":
        # HTML pages, "OK", PHP warnings: not JSON with a typo, so not ours to repair.
        raise ValueError(f"not JSON: {strict_error}") from None
    repaired = _repair(text)
    try:
        return loads(repaired)
    except ValueError:
        raise ValueError(f"not JSON, even after repairing missing commas and bare words: {strict_error}") from None


def _repair(text: str) -> str:
    out: list[str] = []
    previous_kind: str | None = None  # kind of the last significant token
    newline_since_previous = False
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"not JSON: unexpected character {text[position]!r} at offset {position}")
        kind = match.lastgroup or ""
        token = match.group()
        position = match.end()
        if kind == "ws":
            newline_since_previous = newline_since_previous or "\n" in token
            out.append(token)
            continue
        if kind == "punct":
            kind = token
        if kind == "word" and token not in _LITERALS:
            if previous_kind != ":":
                raise ValueError(f"not JSON: bare word {token!r} where a value cannot be")
            # `"desc": usernames` means the text "usernames".
            token = json.dumps(token)
        if previous_kind in _VALUE_END and kind in _VALUE_START and newline_since_previous:
            # Two values on consecutive lines with nothing between them: the line lost its comma.
            _insert_comma_after_last_value(out)
        out.append(token)
        previous_kind = kind
        newline_since_previous = False
    return "".join(out)


def _insert_comma_after_last_value(out: list[str]) -> None:
    # Put the comma right after the value, before the line break, so error offsets stay readable.
    index = len(out) - 1
    while index >= 0 and out[index].isspace():
        index -= 1
    out.insert(index + 1, ",")
