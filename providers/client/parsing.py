"""Reading the providers' answers: pure functions from decoded JSON to the typed results.

The providers' own documentation (tests/providers/fixtures, copied from their pages) disagrees on
details: numbers as strings or numbers, `{"status": "success", ...}` wrappers, lowercase
statuses, per-id errors as objects or plain strings, missing commas. All of it is absorbed here.

A problem with one entry (an unknown status, an unreadable number, a service without a rate) is
noted on the `Reading` and the entry is kept as well as it can be or skipped; the client logs the
notes as one line per answer. A problem with the answer as a whole raises `AnswerError`; anything
else raised here is turned into a `ProviderError` by the client, whatever it is.
"""

import json
import reprlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from core.money import money_parse
from providers.client.results import (
    MISSING_FROM_ANSWER,
    TEXT_LIMITS,
    AddResult,
    BalanceResult,
    CancelResult,
    OrderStatusResult,
    ProductOrderStatusResult,
    RefillResult,
    RefillStatusResult,
    UpstreamProduct,
    UpstreamService,
)
from providers.lenient_json import loads, loads_lenient
from providers.protocol import PROTOCOL_BATCH
from providers.statuses import normalize_order_status, normalize_refill_status

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")

# The service types of the API v2 documentation. Upstreams vary their case (seed 002 writes a
# bare `default`), and the order form depends on the exact name, so known names are canonicalised.
SERVICE_TYPES = (
    "Default",
    "Package",
    "Custom Comments",
    "Custom Comments Package",
    "Mentions",
    "Mentions with Hashtags",
    "Mentions Custom List",
    "Mentions Hashtag",
    "Mentions User Followers",
    "Mentions Media Likers",
    "Comment Likes",
    "Comment Replies",
    "Poll",
    "Subscriptions",
    "Invites from Groups",
    "Special (1DG)",
    "Special 1 (1DG)",
)
_SERVICE_TYPE_BY_KEY = {name.casefold(): name for name in SERVICE_TYPES}
_SUCCESS_WORDS = frozenset({"success", "ok"})
_FAILURE_WORDS = frozenset({"error", "fail", "failed"})
_TRUE_WORDS = frozenset({"1", "true", "yes", "y", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "n", "off", ""})
_IN_STOCK = frozenset({"instock", "available"})
_OUT_OF_STOCK = frozenset({"outofstock", "soldout", "unavailable"})
# Counts are stored in 64-bit columns; a larger number is not a count (and turning a number like
# 1E+999999999 into an int would take the worker's memory and minutes).
_LARGEST_COUNT = 2**63 - 1
_LONGEST_ID = 64
# How many of an answer's problems the log line spells out; the rest are counted.
EXAMPLES_LOGGED = 3

# A short, bounded repr for messages: a deeply nested or huge value is cut, never walked whole.
_brief_repr = reprlib.Repr()
_brief_repr.maxlevel = 3
_brief_repr.maxstring = 120
_brief_repr.maxother = 120
_brief_repr.maxlist = _brief_repr.maxdict = _brief_repr.maxtuple = 6


def brief(value: Any) -> str:
    return _brief_repr.repr(value)


class AnswerError(ValueError):
    """The answer as a whole cannot be used: `detail` says what was wrong or what was expected."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Cleaner(Protocol):
    def clean(self, text: str, *, limit: int = 200, keep_lines: bool = False) -> str: ...


class Reading:
    """One answer being read: how to clean its text (the key scrubbed out), and what went wrong on the way."""

    def __init__(self, cleaner: Cleaner) -> None:
        self._cleaner = cleaner
        self.problems = 0
        self.examples: list[str] = []

    def clean(self, text: str, *, limit: int = TEXT_LIMITS["error"], keep_lines: bool = False) -> str:
        return self._cleaner.clean(text, limit=limit, keep_lines=keep_lines)

    def shown(self, value: Any, *, limit: int = 100) -> str:
        return self.clean(brief(value), limit=limit)

    def note(self, describe: Callable[[], str]) -> None:
        """Count a problem; only the first few are described (a junk answer may hold millions)."""
        self.problems += 1
        if len(self.examples) < EXAMPLES_LOGGED:
            self.examples.append(self.clean(describe(), limit=300))

    def summary(self) -> str:
        shown = "; ".join(self.examples)
        if self.problems == 1:
            return f"1 problem in the answer: {shown}"
        if self.problems <= len(self.examples):
            return f"{self.problems} problems in the answer: {shown}"
        return f"{self.problems} problems in the answer, the first {len(self.examples)}: {shown}"


# Whole answers


def decode(text: str, reading: Reading) -> Any:
    """The JSON in `text`, with the upstream's documented typos repaired (noted); AnswerError otherwise."""
    if not text:
        raise AnswerError("an empty answer instead of JSON")
    try:
        return loads(text)
    except ValueError:
        pass
    except RecursionError:
        raise AnswerError("an answer nested too deeply to read") from None
    if text.startswith("<"):
        raise AnswerError("an HTML page instead of JSON")
    try:
        payload = loads_lenient(text)
    except ValueError:
        raise AnswerError("an answer that is not JSON") from None
    except RecursionError:
        raise AnswerError("an answer nested too deeply to read") from None
    reading.note(lambda: "invalid JSON answer repaired (missing commas, bare words)")
    return payload


def refusal_message(payload: Any, *, status_is_data: bool) -> str | None:
    """The upstream's refusal in a top-level answer, or None.

    `{"error": "..."}` (all seeds) or `{"status": "error"|"fail", "message"|"error": "..."}`.
    Where `status` is the data (status actions) a failure word alone is an unknown status, not a refusal.
    """
    if not isinstance(payload, dict):
        return None
    if payload.get("error"):
        return error_text(payload["error"])
    status = payload.get("status")
    if isinstance(status, str) and status.strip().casefold() in _FAILURE_WORDS:
        for key in ("message", "msg"):
            if payload.get(key):
                return error_text(payload[key])
        if not status_is_data:
            return status.strip()
    return None


def is_success_wrapper(payload: Any) -> bool:
    status = payload.get("status") if isinstance(payload, dict) else None
    return isinstance(status, str) and status.strip().casefold() in _SUCCESS_WORDS


def unwrap(payload: Any, *, status_is_data: bool) -> Any:
    """The answer without seed 002's `{"status": "success", ...}` wrapper.

    For status actions `status` is the order's own status, so only a `data` wrapper is removed.
    """
    if not is_success_wrapper(payload):
        return payload
    if "data" in payload:
        return payload["data"]
    if status_is_data:
        return payload
    return {key: value for key, value in payload.items() if key != "status"}


def error_text(value: Any, depth: int = 0) -> str:
    if isinstance(value, str):
        return value.strip()
    if depth < 3 and isinstance(value, dict):
        for key in ("message", "error", "msg", "description"):
            if value.get(key):
                return error_text(value[key], depth + 1)
    if depth < 3 and isinstance(value, list):
        return "; ".join(error_text(item, depth + 1) for item in value[:5])
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (RecursionError, ValueError):
        return brief(value)


def entries(payload: Any) -> list[Any]:
    """A catalogue answer as a list of entries."""
    if isinstance(payload, list):
        return payload
    # A few panels key their catalogue by id instead of listing it.
    if isinstance(payload, dict) and payload and all(isinstance(value, dict) for value in payload.values()):
        return list(payload.values())
    raise AnswerError("unexpected answer: expected a list")


def read_each(reading: Reading, items: list[Any], read: Callable[[Reading, Any], T], *, what: str) -> list[T]:
    """`read` over a catalogue's entries; an entry it cannot read (ValueError, TypeError) is skipped and noted."""
    results = []
    for entry in items:
        try:
            results.append(read(reading, entry))
        except (ValueError, TypeError, ArithmeticError) as error:
            _note_skipped(reading, what, entry, error)
    return results


def _note_skipped(reading: Reading, what: str, entry: Any, error: Exception) -> None:
    def describe() -> str:
        if isinstance(entry, dict) and entry.get(what) is not None:
            return f"skipped {what} {reading.clean(text(entry[what]), limit=50)}: {error}"
        return f"skipped an entry {reading.shown(entry)}: {error}"

    reading.note(describe)


def per_id(
    reading: Reading,
    payload: Any,
    *,
    ids: list[str],
    id_field: str,
    marker: str,
    read: Callable[[Reading, str, Any], R],
    missing: Callable[[str, str], R],
) -> dict[str, R]:
    """A multi-id answer read entry by entry: {id: result} for every id asked, in order; an id the
    upstream left out gets `missing(id, MISSING_FROM_ANSWER)`."""
    found = entries_by_id(reading, payload, ids, id_field=id_field, marker=marker)
    return {
        item_id: read(reading, item_id, found[item_id]) if item_id in found else missing(item_id, MISSING_FROM_ANSWER)
        for item_id in ids
    }


def entries_by_id(reading: Reading, payload: Any, ids: list[str], *, id_field: str, marker: str) -> dict[str, Any]:
    """A multi-id answer as {id: entry}: seeds key statuses by id and list refills/cancels."""
    if isinstance(payload, dict):
        found = {str(key).strip(): value for key, value in payload.items()}
        single_form = marker in found and not (marker == "status" and is_success_wrapper(payload))
        if len(ids) == 1 and ids[0] not in found and single_form:
            # A panel that answers a one-id list in the single-id form.
            return {ids[0]: payload}
        return found
    if isinstance(payload, list):
        found = {}
        for entry in payload:
            entry_id = _entry_id(reading, entry, id_field)
            if entry_id is not None:
                found[entry_id] = entry
        return found
    raise AnswerError("unexpected answer: expected an object or a list")


def _entry_id(reading: Reading, entry: Any, id_field: str) -> str | None:
    try:
        return to_id(entry[id_field])
    except (KeyError, TypeError, ValueError, IndexError):
        reading.note(lambda: f"ignored an entry without {id_field}: {reading.shown(entry)}")
        return None


# One entry of an answer


def order_status(reading: Reading, order_id: str, entry: Any) -> OrderStatusResult:
    error, raw_status, status = _status_entry(reading, order_id, entry, normalize_order_status, "order")
    if error is not None:
        return OrderStatusResult.failed(order_id, error, raw=entry)
    return OrderStatusResult(
        order_id=order_id,
        status=status,
        raw_status=raw_status,
        charge=optional(reading, to_money, entry, "charge", order_id),
        start_count=optional(reading, to_int, entry, "start_count", order_id),
        remains=optional(reading, to_int, entry, "remains", order_id),
        currency=reading.clean(text(entry.get("currency")), limit=TEXT_LIMITS["currency"]) or None,
        error=None,
        raw=entry,
    )


def refill_status(reading: Reading, refill_id: str, entry: Any) -> RefillStatusResult:
    error, raw_status, status = _status_entry(reading, refill_id, entry, normalize_refill_status, "refill")
    if error is not None:
        return RefillStatusResult.failed(refill_id, error, raw=entry)
    return RefillStatusResult(refill_id, status, raw_status, None, raw=entry)


def product_order_status(reading: Reading, order_id: str, entry: Any) -> ProductOrderStatusResult:
    error, raw_status, status = _status_entry(reading, order_id, entry, normalize_order_status, "product order")
    if error is not None:
        return ProductOrderStatusResult.failed(order_id, error, raw=entry)
    limit = TEXT_LIMITS["result"]
    return ProductOrderStatusResult(
        order_id=order_id,
        status=status,
        raw_status=raw_status,
        charge=optional(reading, to_money, entry, "charge", order_id),
        # A product's result is what the customer bought (accounts, codes): kept whole, line by line.
        result=reading.clean(text(entry.get("result")), limit=limit, keep_lines=True) or None,
        note=reading.clean(text(entry.get("note")), limit=limit, keep_lines=True) or None,
        error=None,
        raw=entry,
    )


def refill_result(reading: Reading, order_id: str, entry: Any) -> RefillResult:
    return RefillResult(order_id, *id_or_error(reading, entry, "refill"), raw=entry)


def cancel_result(reading: Reading, order_id: str, entry: Any) -> CancelResult:
    return CancelResult(order_id, *id_or_error(reading, entry, "cancel"), raw=entry)


def _status_entry(
    reading: Reading, item_id: str, entry: Any, normalize: Callable[[str], S | None], what: str
) -> tuple[str | None, str, S | None]:
    """(per-id error, raw status, normalised status) of a status entry; an unknown status is noted."""
    error = entry_error(reading, entry)
    if error is not None:
        return error, "", None
    raw_status = reading.clean(text(entry.get("status")), limit=TEXT_LIMITS["status"])
    status = normalize(raw_status)
    if status is None:
        reading.note(lambda: f"unknown {what} status {raw_status!r} for {item_id}; left unchanged")
    return None, raw_status, status


def service(reading: Reading, entry: Any) -> UpstreamService:
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    minimum, maximum = to_int(entry.get("min")), to_int(entry.get("max"))
    if minimum < 0 or maximum < minimum:
        raise ValueError(f"unusable min/max {minimum}/{maximum}")
    return UpstreamService(
        service_id=to_id(first(entry, "service", "id", "service_id")),
        name=_field(reading, entry.get("name"), "name"),
        type=service_type(_field(reading, entry.get("type"), "type")),
        category=_field(reading, entry.get("category"), "category"),
        rate=to_rate(entry.get("rate")),
        min=minimum,
        max=maximum,
        refill=flag(reading, entry, "refill"),
        cancel=flag(reading, entry, "cancel"),
        dripfeed=flag(reading, entry, "dripfeed"),
        description=_field(reading, first(entry, "desc", "description"), "description", keep_lines=True),
        raw=entry,
    )


def product(reading: Reading, entry: Any) -> UpstreamProduct:
    if not isinstance(entry, dict):
        raise ValueError("not an object")
    product_id = to_id(first(entry, "product", "id", "product_id"))
    minimum, maximum = to_int(entry.get("min")), to_int(entry.get("max"))
    if minimum < 0 or maximum < minimum:
        raise ValueError(f"unusable min/max {minimum}/{maximum}")
    stock_status = _field(reading, entry.get("status"), "status") or None
    return UpstreamProduct(
        product_id=product_id,
        name=_field(reading, entry.get("name"), "name"),
        require=_field(reading, entry.get("require"), "require") or None,
        rate=to_rate(entry.get("rate")),
        min=minimum,
        max=maximum,
        category=_field(reading, entry.get("category"), "category"),
        status=stock_status,
        in_stock=in_stock(stock_status),
        inventory=optional(reading, to_int, entry, "inventory", product_id),
        type=_field(reading, entry.get("type"), "type") or None,
        raw=entry,
    )


def add_result(reading: Reading, payload: Any) -> AddResult:
    if not isinstance(payload, dict) or payload.get("order") in (None, ""):
        # The upstream may have created the order: an answer without its id is not a refusal.
        raise AnswerError("unexpected answer: expected an object with the new order id")
    try:
        return AddResult(to_id(payload["order"]), raw=payload)
    except ValueError:
        raise AnswerError("unexpected answer: expected an order id") from None


def balance(reading: Reading, payload: Any) -> BalanceResult:
    if not isinstance(payload, dict) or "balance" not in payload:
        raise AnswerError("unexpected answer: expected an object with a balance")
    try:
        amount = to_money(payload["balance"])
    except (ValueError, ArithmeticError):
        raise AnswerError("unexpected answer: expected a balance amount") from None
    return BalanceResult(amount, _field(reading, payload.get("currency"), "currency"), raw=payload)


def entry_error(reading: Reading, entry: Any) -> str | None:
    """The per-id error of an entry: `{"error": ...}` (seed 000), a bare string (seed 002),
    or `{"status": {"error": ...}}` (refill status)."""
    if isinstance(entry, str):
        return reading.clean(entry) or "an empty answer"
    if not isinstance(entry, dict):
        return f"an unexpected answer: {reading.shown(entry)}"
    if entry.get("error"):
        return reading.clean(error_text(entry["error"]))
    if isinstance(entry.get("status"), dict | list):
        return reading.clean(error_text(entry["status"]))
    return None


def id_or_error(reading: Reading, entry: Any, field_name: str) -> tuple[str | None, str | None]:
    """`{"refill": 1}` / `{"cancel": {"error": "..."}}`: the new id, or the reason there is none."""
    if not isinstance(entry, dict):
        # Keyed answers may hold the bare value: {"9": 1} or {"9": "Incorrect order ID"}.
        entry = {field_name: entry}
    if entry.get("error"):
        return None, reading.clean(error_text(entry["error"]))
    value = entry.get(field_name)
    if value is None or value == "":
        return None, f"no {field_name} id in the provider's answer"
    if value is True:
        return None, None
    if value is False:
        return None, f"{field_name} refused without a reason"
    if isinstance(value, dict | list):
        return None, reading.clean(error_text(value))
    if isinstance(value, str) and any(character.isspace() for character in value.strip()):
        # Ids never contain spaces; a sentence here is the upstream's error.
        return None, reading.clean(value)
    try:
        return to_id(value), None
    except ValueError:
        return None, f"an unexpected {field_name} value: {reading.shown(value)}"


def optional(reading: Reading, parse: Callable[[Any], T], entry: dict, key: str, item_id: str) -> T | None:
    """An optional field: absent or empty is None, and so is an unreadable one (noted)."""
    value = entry.get(key)
    if value is None or value == "":
        return None
    try:
        return parse(value)
    except (ValueError, TypeError, ArithmeticError):
        reading.note(lambda: f"unreadable {key} {reading.shown(value)} for {item_id}")
        return None


def flag(reading: Reading, entry: dict, key: str) -> bool:
    try:
        return to_bool(entry.get(key))
    except ValueError:
        reading.note(lambda: f"unreadable flag {key}={reading.shown(entry.get(key))}, taken as false")
        return False


def _field(reading: Reading, value: Any, name: str, *, keep_lines: bool = False) -> str:
    return reading.clean(text(value), limit=TEXT_LIMITS[name], keep_lines=keep_lines)


# Values


def to_id(value: Any) -> str:
    """Ids come as 23501 or "23501"; they are kept as text."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not an id: {brief(value)}")
    if isinstance(value, int) and abs(value) < 10**_LONGEST_ID:
        return str(value)
    if (
        isinstance(value, Decimal)
        and value.is_finite()
        and value.adjusted() < _LONGEST_ID
        and value == value.to_integral_value()
    ):
        return str(int(value))
    if isinstance(value, str):
        text_value = value.strip()
        if text_value and not any(character.isspace() for character in text_value):
            return text_value
    raise ValueError(f"not an id: {brief(value)}")


def to_int(value: Any) -> int:
    """Counts come as 50, "50" or "-2" (seed 003's remains); 50.0 is accepted, 50.5 is not."""
    if isinstance(value, bool):
        raise ValueError(f"not a whole number: {brief(value)}")
    if isinstance(value, int):
        if abs(value) > _LARGEST_COUNT:
            raise ValueError(f"not a count: {brief(value)}")
        return value
    if isinstance(value, str):
        value = value.strip()
    try:
        number = Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        raise ValueError(f"not a whole number: {brief(value)}") from None
    # adjusted() reads the exponent without arithmetic: abs() of 1E+999999999 overflows the context.
    if not number.is_finite() or number.adjusted() > 18 or number != number.to_integral_value():
        raise ValueError(f"not a whole number: {brief(value)}")
    if abs(number) > _LARGEST_COUNT:
        raise ValueError(f"not a count: {brief(value)}")
    return int(number)


def to_money(value: Any) -> Decimal:
    """An amount; anything but a number or text is refused before it is turned into text."""
    if not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"not an amount: {brief(value)}")
    if isinstance(value, str | Decimal):
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except ArithmeticError:
            raise ValueError(f"not an amount: {brief(value)}") from None
        # adjusted() reads the exponent without arithmetic, which would overflow on 1E+999999999.
        if number.is_finite() and number.adjusted() > 30:
            raise ValueError(f"amount too large: {brief(value)}")
    return money_parse(value)


def to_rate(value: Any) -> Decimal:
    rate = to_money(value)
    if rate < 0:
        raise ValueError(f"negative rate {brief(value)}")
    return rate


def to_bool(value: Any) -> bool:
    """Flags come as true, 1, "1", "true", "yes"; absent means no."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | Decimal):
        return value != 0
    if isinstance(value, str) and value.strip().casefold() in _TRUE_WORDS | _FALSE_WORDS:
        return value.strip().casefold() in _TRUE_WORDS
    raise ValueError(f"not a flag: {brief(value)}")


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict | list):
        return brief(value)
    return str(value)


def first(entry: dict, *keys: str) -> Any:
    for key in keys:
        if entry.get(key) not in (None, ""):
            return entry[key]
    return None


def service_type(value: str) -> str:
    if not value:
        return "Default"
    return _SERVICE_TYPE_BY_KEY.get(value.casefold(), value)


def in_stock(status: str | None) -> bool | None:
    folded = "".join((status or "").split()).casefold()
    if folded in _IN_STOCK:
        return True
    if folded in _OUT_OF_STOCK:
        return False
    return None


# What we send


def unique_ids(ids: Iterable[str | int]) -> list[str]:
    if isinstance(ids, str | int):
        raise TypeError("pass a list of ids, not a single id")
    return list(dict.fromkeys(to_id(item) for item in ids))


def form(params: Mapping[str, Any]) -> dict[str, str]:
    """Form fields for the protocol: None is left out, lists become newline-separated text."""
    fields = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            value = "\n".join(str(item) for item in value)
        elif isinstance(value, bool):
            value = "1" if value else "0"
        fields[key] = str(value)
    return fields


def chunked(ids: Iterable[T], size: int = PROTOCOL_BATCH) -> Iterator[list[T]]:
    """`ids` in lists of at most `size`, in order."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    chunk: list[T] = []
    for item in ids:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
