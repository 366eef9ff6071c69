"""Re-encoding a gateway's JSON body the way the gateway encoded it before signing.

Cryptomus signs PHP's `json_encode` of the body without `sign` (keys in their order, `/`
escaped as `\\/`, non-ASCII kept); NOWPayments signs JavaScript's `JSON.stringify` of the body
with its keys sorted. Numbers must come back exactly as they were written ("10.50" stays
10.50, not 10.5), so they are parsed as `RawNumber` holding their original text.
"""

import json
from typing import Any


class RawNumber(str):
    """A JSON number kept as the text it was written with."""


def loads_raw(body: bytes | str) -> Any:
    """Parse JSON, keeping numbers as RawNumber and object keys in order; ValueError if not JSON."""
    return json.loads(body, parse_float=RawNumber, parse_int=RawNumber, parse_constant=_refuse_constant)


def json_text_field(body: bytes | str, name: str) -> str | None:
    """A text field of a JSON object body (our deposit reference in a notification), or None when the body is
    not JSON, not an object, or the field is not text."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def dumps_php(value: Any) -> str:
    """PHP `json_encode($value, JSON_UNESCAPED_UNICODE)`: compact, `\\/` for slashes, U+2028/2029 escaped."""
    return _dumps(value, sort_keys=False, php=True)


def dumps_js_sorted(value: Any) -> str:
    """JavaScript `JSON.stringify` of the value with every object's keys sorted (NOWPayments' IPN)."""
    return _dumps(value, sort_keys=True, php=False)


def _dumps(value: Any, *, sort_keys: bool, php: bool) -> str:
    if isinstance(value, RawNumber):
        return str(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        if php:
            text = text.replace("/", "\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        return text
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        items = sorted(value.items()) if sort_keys else value.items()
        inner = ",".join(
            f"{_dumps(str(k), sort_keys=sort_keys, php=php)}:{_dumps(v, sort_keys=sort_keys, php=php)}"
            for k, v in items
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dumps(v, sort_keys=sort_keys, php=php) for v in value) + "]"
    if isinstance(value, int | float):
        return json.dumps(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
