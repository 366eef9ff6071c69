"""The simulated upstream provider: in-memory state and every API v2 action, without HTTP or a database.

Time drives everything: an order's status is a pure function of (its fate, its age in stages), so a
test that moves a `ManualClock` walks it through Pending → In progress → a final status. Money the
simulator gives back (partial and canceled orders) is credited once, when the order becomes final;
a heap of due times makes that O(log n) per order instead of a scan of every order on each request.
"""

import heapq
import json
import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from providers.protocol import PROTOCOL_BATCH
from providers.simulator.catalog import (
    Product,
    Service,
    products_generate,
    services_generate,
)
from providers.simulator.dialects import decimal_number, dialect_for

FAULTS = ("timeout", "500", "garbage", "html", "lost_response", "no_funds")
RANDOM_FAULTS = ("timeout", "500", "garbage", "html", "lost_response")
FATES = ("completed", "partial", "canceled")
REFILL_FATES = ("completed", "rejected")
FIRST_ORDER_ID = 10_001
FIRST_REFILL_ID = 501
FIRST_PRODUCT_ORDER_ID = 70_001
MONEY_QUANTUM = Decimal("0.00001")

JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=UTF-8"

_PAGE_500 = (
    b"<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n"
    b"<body><h1>Internal Server Error</h1><p>The server encountered an internal error.</p></body></html>\n"
)
_PAGE_504 = b"<html><head><title>504 Gateway Time-out</title></head><body><h1>504 Gateway Time-out</h1></body></html>\n"
_PAGE_HTML = (
    b'<!DOCTYPE html>\n<html lang="en"><head><meta charset="UTF-8"><title>Just a moment...</title></head>\n'
    b"<body><h1>Checking your browser before accessing the panel.</h1>"
    b"<p>This process is automatic. Your browser will redirect to your requested content shortly.</p></body></html>\n"
)
# A PHP notice spliced into a half-written answer: neither JSON nor valid UTF-8.
_GARBAGE = b'{"order":\x00\xff\xfe<br />\n<b>Warning</b>: mysqli_connect(): Too many connections in /var/www/api.php'
_ASCII_DIGITS = re.compile(r"[0-9]+")
_SIGNED_INTEGER = re.compile(r"[+-]?[0-9]+")
_T = TypeVar("_T")


def _money(value: Decimal) -> Decimal:
    return value.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


class ManualClock:
    """A clock that moves only when told, so that tests decide when an order changes stage."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    @property
    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now


@dataclass(frozen=True)
class Reply:
    """An answer to one request. `fault` names an injected fault the HTTP layer must act out."""

    status: int
    content_type: str
    body: bytes
    fault: str | None = None
    hold_seconds: float = 0.0  # for "timeout": how long the server waits before dropping the connection

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class OrderView:
    """An order as the simulator sees it now. `charge` is what was taken when it was placed."""

    id: int
    service_id: int
    link: str
    quantity: int  # units to deliver in all: quantity × runs for drip-feed
    runs: int
    charge: Decimal
    status: str  # Pending, In progress, Completed, Partial, Canceled
    stage: int
    start_count: int
    remains: int
    refund: Decimal  # given back once final: charge × remains / quantity, or all of it
    cancel_requested: bool

    @property
    def final(self) -> bool:
        return self.status in ("Completed", "Partial", "Canceled")


@dataclass(frozen=True)
class RefillView:
    id: int
    order_id: int
    status: str  # Pending, In progress, Completed, Rejected


@dataclass(frozen=True)
class ProductOrderView:
    id: int
    product_id: int
    quantity: int
    charge: Decimal
    status: str  # Pending, In progress, Completed, Canceled
    result: str | None
    note: str | None


@dataclass
class _Order:
    id: int
    service: Service
    link: str
    quantity: int
    runs: int
    charge: Decimal
    created_at: float
    fate: str
    final_remains: int
    start_count: int
    cancel_stage: int | None = None
    settled: bool = False
    last_refill_id: int | None = None


@dataclass
class _Refill:
    id: int
    order_id: int
    created_at: float
    rejected: bool


@dataclass
class _ProductOrder:
    id: int
    product: Product
    quantity: int
    charge: Decimal
    created_at: float
    canceled: bool
    result: str
    settled: bool = False


@dataclass
class _Injection:
    fault: str
    action: str | None
    times: int
    seconds: float | None


class _Refusal(Exception):
    """An answer of the form {"error": message}."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _id_of(token: str) -> int | None:
    return int(token) if _ASCII_DIGITS.fullmatch(token) else None


def _by_id(table: dict[int, _T], token: str) -> _T | None:
    ident = _id_of(token.strip())
    return None if ident is None else table.get(ident)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in re.split(r"\r\n|\r|\n", text) if line.strip()]


def _integer(text: str | None) -> int:
    text = (text or "").strip()
    if not _SIGNED_INTEGER.fullmatch(text):
        raise _Refusal("Incorrect request")
    return int(text)


def _fields(form: Mapping[str, Any]) -> dict[str, str]:
    """Form values as strings; a list (as `parse_qs` gives) counts by its first value."""
    fields = {}
    for name, value in form.items():
        if isinstance(value, list | tuple):
            value = value[0] if value else ""
        fields[str(name)] = "" if value is None else str(value)
    return fields


class SimulatedProvider:
    """An upstream panel speaking API v2 in one of the seeds' dialects; thread safe, deterministic from `seed`."""

    def __init__(
        self,
        *,
        dialect: str = "standard",
        key: str = "sim-key",
        seed: int = 0,
        services: int = 20,
        products: int = 6,
        balance: Decimal | str | int = Decimal("1000"),
        currency: str = "USD",
        stage_seconds: float = 5.0,
        progress_stages: int = 3,
        partial_rate: float = 0.15,
        cancel_rate: float = 0.1,
        refill_reject_rate: float = 0.2,
        overdelivery_rate: float | None = None,
        latency_ms: float = 0,
        fault_rate: float = 0.0,
        random_faults: Iterable[str] = RANDOM_FAULTS,
        timeout_seconds: float = 35.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        for name, rate in (("partial_rate", partial_rate), ("cancel_rate", cancel_rate), ("fault_rate", fault_rate)):
            if not 0 <= rate <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if partial_rate + cancel_rate > 1:
            raise ValueError("partial_rate + cancel_rate must not exceed 1")
        if progress_stages < 1:
            raise ValueError("progress_stages must be at least 1")
        self.random_faults = tuple(random_faults)
        if unknown := set(self.random_faults) - set(FAULTS):
            raise ValueError(f"unknown faults: {sorted(unknown)}")
        self._dialect = dialect_for(dialect)
        self.dialect = dialect
        self.key = key
        self.seed = seed
        self.currency = currency
        self.stage_seconds = stage_seconds
        self.progress_stages = progress_stages
        self.partial_rate = partial_rate
        self.cancel_rate = cancel_rate
        self.refill_reject_rate = refill_reject_rate
        # Seed 003 shows a Completed order with remains "-2": some providers over-deliver.
        self.overdelivery_rate = (0.2 if dialect == "003" else 0.0) if overdelivery_rate is None else overdelivery_rate
        self.latency_ms = latency_ms
        self.fault_rate = fault_rate
        self.timeout_seconds = timeout_seconds
        self.clock: Callable[[], float] = clock or time.monotonic

        self._lock = threading.Lock()
        self._services = services_generate(seed=seed, count=services)
        self._services_by_id = {service.id: service for service in self._services}
        self._products = products_generate(seed=seed, count=products) if self._dialect.has_products else ()
        self._products_by_id = {product.id: product for product in self._products}
        self._inventory = {product.id: product.inventory for product in self._products}
        self._services_body: bytes | None = None
        self._balance = _money(Decimal(balance))
        self._orders: dict[int, _Order] = {}
        self._refills: dict[int, _Refill] = {}
        self._product_orders: dict[int, _ProductOrder] = {}
        self._due: list[tuple[float, int, str, int]] = []
        self._due_sequence = 0
        self._next_order_id = FIRST_ORDER_ID
        self._next_refill_id = FIRST_REFILL_ID
        self._next_product_order_id = FIRST_PRODUCT_ORDER_ID
        self._forced_fates: deque[tuple[str, int | None]] = deque()
        self._forced_refill_fates: deque[str] = deque()
        self._injections: list[_Injection] = []
        self._fault_rng = random.Random(f"{seed}:faults")
        self._requests: list[tuple[str, dict[str, str]]] = []
        self._faults_fired: list[tuple[str, str]] = []
        self._handlers: dict[str, Callable[[dict[str, str], float], Any]] = {
            "services": self._act_services,
            "add": self._act_add,
            "status": self._act_status,
            "refill": self._act_refill,
            "refill_status": self._act_refill_status,
            "cancel": self._act_cancel,
            "balance": self._act_balance,
        }
        if self._dialect.has_products:
            self._handlers |= {
                "products": self._act_products,
                "add_product_order": self._act_add_product_order,
                "product_order_status": self._act_product_order_status,
            }

    # Public API for tests, benchmarks and the demo.

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(self._handlers)

    @property
    def services(self) -> tuple[Service, ...]:
        return self._services

    @property
    def products(self) -> tuple[Product, ...]:
        return self._products

    def service(self, service_id: int) -> Service | None:
        return self._services_by_id.get(service_id)

    @property
    def balance(self) -> Decimal:
        with self._lock:
            self._settle(self.clock())
            return self._balance

    @balance.setter
    def balance(self, value: Decimal | str | int) -> None:
        with self._lock:
            self._balance = _money(Decimal(value))

    @property
    def order_count(self) -> int:
        return len(self._orders)

    @property
    def refill_count(self) -> int:
        return len(self._refills)

    @property
    def product_order_count(self) -> int:
        return len(self._product_orders)

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        """Every request received, faulted or not: (action, form without the key)."""
        with self._lock:
            return list(self._requests)

    @property
    def faults_fired(self) -> list[tuple[str, str]]:
        """(action, fault) for every request answered with a fault."""
        with self._lock:
            return list(self._faults_fired)

    def order(self, order_id: int) -> OrderView | None:
        with self._lock:
            now = self.clock()
            self._settle(now)
            order = self._orders.get(order_id)
            return self._order_view(order, now) if order else None

    def refill(self, refill_id: int) -> RefillView | None:
        with self._lock:
            refill = self._refills.get(refill_id)
            return RefillView(refill.id, refill.order_id, self._refill_status(refill, self.clock())) if refill else None

    def product_order(self, order_id: int) -> ProductOrderView | None:
        with self._lock:
            now = self.clock()
            self._settle(now)
            order = self._product_orders.get(order_id)
            return self._product_order_view(order, now) if order else None

    def restock(self, product_id: int, inventory: int | None) -> None:
        """Set a product's stock (None: not counted), as the provider's operator would."""
        with self._lock:
            if product_id not in self._inventory:
                raise ValueError(f"no product {product_id}")
            self._inventory[product_id] = inventory

    def withdraw_service(self, service_id: int) -> None:
        """Stop listing a service and refuse new orders for it ("Incorrect service ID"), as a provider
        that disabled or removed it does; orders already taken run on."""
        with self._lock:
            self._services = tuple(service for service in self._services if service.id != service_id)
            self._services_by_id.pop(service_id, None)
            self._services_body = None

    def force_next_fate(self, fate: str, *, remains: int | None = None, count: int = 1) -> None:
        """The next `count` orders end as `fate` ("completed", "partial" with `remains`, "canceled")."""
        if fate not in FATES:
            raise ValueError(f"fate must be one of {FATES}")
        if remains is not None and (fate != "partial" or remains < 1):
            raise ValueError("remains goes with a partial fate and must be at least 1")
        with self._lock:
            self._forced_fates.extend([(fate, remains)] * count)

    def force_next_refill_fate(self, fate: str, *, count: int = 1) -> None:
        if fate not in REFILL_FATES:
            raise ValueError(f"fate must be one of {REFILL_FATES}")
        with self._lock:
            self._forced_refill_fates.extend([fate] * count)

    def inject(self, fault: str, action: str | None = None, times: int = 1, *, seconds: float | None = None) -> None:
        """Answer the next `times` requests for `action` (any action when None) with `fault`.

        `seconds` overrides `timeout_seconds` for a "timeout" fault.
        """
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._injections.append(_Injection(fault, action, times, seconds))

    def handle(self, form: Mapping[str, Any]) -> Reply:
        """Answer one API request (its form fields, key included)."""
        fields = _fields(form)
        action = fields.get("action", "").strip()
        with self._lock:
            self._requests.append((action, {name: value for name, value in fields.items() if name != "key"}))
            fault, seconds = self._pick_fault(action)
            if fault is not None:
                self._faults_fired.append((action, fault))
            # Every fault but a lost response strikes before the request is processed.
            if fault is None or fault == "lost_response":
                answer = self._answer(fields, action)
        if fault == "timeout":
            return Reply(504, HTML_TYPE, _PAGE_504, fault, hold_seconds=seconds or self.timeout_seconds)
        if fault == "500":
            return Reply(500, HTML_TYPE, _PAGE_500, fault)
        if fault == "garbage":
            return Reply(200, JSON_TYPE, _GARBAGE, fault)
        if fault == "html":
            return Reply(200, HTML_TYPE, _PAGE_HTML, fault)
        if fault == "no_funds":
            answer = {"error": "Not enough funds on balance"}
        body = answer if isinstance(answer, bytes) else json.dumps(answer, separators=(",", ":")).encode()
        return Reply(200, JSON_TYPE, body, fault)

    # Request plumbing (called with the lock held).

    def _pick_fault(self, action: str) -> tuple[str | None, float | None]:
        for injection in self._injections:
            if injection.action is None or injection.action == action:
                injection.times -= 1
                if injection.times == 0:
                    self._injections.remove(injection)
                return injection.fault, injection.seconds
        if self.fault_rate and self.random_faults and self._fault_rng.random() < self.fault_rate:
            return self._fault_rng.choice(self.random_faults), None
        return None, None

    def _answer(self, fields: dict[str, str], action: str) -> Any:
        now = self.clock()
        self._settle(now)
        if fields.get("key") != self.key:
            return {"error": "Invalid API key"}
        handler = self._handlers.get(action)
        if handler is None:
            return {"error": "Incorrect request"}
        try:
            return handler(fields, now)
        except _Refusal as refusal:
            return {"error": refusal.message}

    def _stage(self, created_at: float, now: float) -> int:
        if self.stage_seconds <= 0:
            return 1 << 30
        return max(0, int((now - created_at) // self.stage_seconds))

    def _schedule(self, due: float, kind: str, ident: int) -> None:
        self._due_sequence += 1
        heapq.heappush(self._due, (due, self._due_sequence, kind, ident))

    def _settle(self, now: float) -> None:
        """Credit the refunds of orders that became final by `now`, each exactly once."""
        while self._due and self._due[0][0] <= now:
            due, _, kind, ident = heapq.heappop(self._due)
            if kind == "order":
                order = self._orders[ident]
                if order.settled:
                    continue
                view = self._order_view(order, now)
                if view.final:
                    order.settled = True
                    self._balance += view.refund
                    continue
            else:
                product_order = self._product_orders[ident]
                if product_order.settled:
                    continue
                product_view = self._product_order_view(product_order, now)
                if product_view.status in ("Completed", "Canceled"):
                    product_order.settled = True
                    if product_order.canceled:
                        self._balance += product_order.charge
                        inventory = self._inventory.get(product_order.product.id)
                        if inventory is not None:
                            self._inventory[product_order.product.id] = inventory + product_order.quantity
                    continue
            # Float rounding put the due time a hair before the stage boundary: look again a little later.
            self._schedule(max(due, now) + 1e-6, kind, ident)

    def _ids(self, text: str) -> list[str]:
        tokens = list(dict.fromkeys(token.strip() for token in text.split(",") if token.strip()))
        if not tokens:
            raise _Refusal("Incorrect request")
        if len(tokens) > PROTOCOL_BATCH:
            raise _Refusal(f"Too many IDs: up to {PROTOCOL_BATCH} at once")
        return tokens

    # Orders.

    def _final_stage(self, order: _Order) -> int:
        natural = 1 if order.fate == "canceled" else 1 + self.progress_stages
        return natural if order.cancel_stage is None else min(natural, order.cancel_stage)

    def _order_view(self, order: _Order, now: float) -> OrderView:
        stage = self._stage(order.created_at, now)
        refund = Decimal(0)
        if order.cancel_stage is not None and stage >= order.cancel_stage:
            status, remains, refund = "Canceled", order.quantity, order.charge
            start_count = order.start_count if order.cancel_stage > 1 else 0
        elif stage >= self._final_stage(order):
            status = order.fate.capitalize()
            remains = order.final_remains
            start_count = 0 if order.fate == "canceled" else order.start_count
            if order.fate == "canceled":
                refund = order.charge
            elif order.fate == "partial":
                refund = _money(order.charge * remains / order.quantity)
        elif stage == 0:
            status, remains, start_count = "Pending", order.quantity, 0
        else:
            to_deliver = order.quantity - max(order.final_remains, 0)
            delivered = to_deliver * stage // (self.progress_stages + 1)
            status, remains, start_count = "In progress", order.quantity - delivered, order.start_count
        return OrderView(
            id=order.id,
            service_id=order.service.id,
            link=order.link,
            quantity=order.quantity,
            runs=order.runs,
            charge=order.charge,
            status=status,
            stage=stage,
            start_count=start_count,
            remains=remains,
            refund=refund,
            cancel_requested=order.cancel_stage is not None,
        )

    def _fate(self, order_id: int, quantity: int) -> tuple[str, int, int]:
        """(fate, final remains, start count), from (seed, order id) unless a test forced it."""
        rng = random.Random(f"{self.seed}:order:{order_id}")
        start_count = rng.randint(0, 50_000)
        roll = rng.random()
        partial_remains = rng.randint(1, quantity - 1) if quantity > 1 else 1
        overshoot = -rng.randint(1, 5) if rng.random() < self.overdelivery_rate else 0
        if self._forced_fates:
            fate, forced_remains = self._forced_fates.popleft()
            if fate == "partial" and forced_remains is not None:
                partial_remains = min(forced_remains, quantity)
            overshoot = 0
        elif roll < self.cancel_rate:
            fate = "canceled"
        elif roll < self.cancel_rate + self.partial_rate and quantity > 1:
            fate = "partial"
        else:
            fate = "completed"
        remains = {"completed": overshoot, "partial": partial_remains, "canceled": quantity}[fate]
        return fate, remains, start_count

    def _status_answer(self, order: _Order, now: float) -> Any:
        view = self._order_view(order, now)
        status = view.status
        if self._dialect.processing_stage and status == "In progress" and view.stage == 1:
            status = "Processing"
        return self._dialect.status(
            order_id=order.id,
            charge=order.charge - view.refund,
            start_count=view.start_count,
            status=status,
            remains=view.remains,
            currency=self.currency,
        )

    def _find_order(self, token: str) -> _Order:
        order = _by_id(self._orders, token)
        if order is None:
            raise _Refusal("Incorrect order ID")
        return order

    # Actions: each takes the form and the time, and answers JSON-ready data (or raises _Refusal).

    def _act_services(self, fields: dict[str, str], now: float) -> bytes:
        # The list never changes: encode it once, since benchmarks ask for 10,000 services.
        if self._services_body is None:
            answer = [self._dialect.service(service) for service in self._services]
            self._services_body = json.dumps(answer, separators=(",", ":")).encode()
        return self._services_body

    def _act_add(self, fields: dict[str, str], now: float) -> Any:
        service_text = fields.get("service", "").strip()
        if not service_text:
            raise _Refusal("Incorrect request")
        service = _by_id(self._services_by_id, service_text)
        if service is None:
            raise _Refusal("Incorrect service ID")
        kind = service.kind
        link = fields.get("link", "").strip()
        if kind.needs_link and not link:
            raise _Refusal("Bad link")
        if any(not fields.get(name, "").strip() for name in kind.required):
            raise _Refusal("Incorrect request")
        if kind.one_of and not any(fields.get(name, "").strip() for name in kind.one_of):
            raise _Refusal("Incorrect request")
        if kind.quantity == "subscription":
            quantity = self._subscription_quantity(fields, service)
        else:
            if kind.quantity == "param":
                quantity = _integer(fields.get("quantity"))
            elif kind.quantity == "fixed":
                quantity = service.min
            else:
                quantity = len(_lines(fields.get(kind.quantity, "")))
                if not quantity:
                    raise _Refusal("Incorrect request")
            self._check_bounds(quantity, service.min, service.max)
        runs = 1
        runs_text, interval_text = fields.get("runs", "").strip(), fields.get("interval", "").strip()
        if runs_text or interval_text:
            if not service.dripfeed:
                raise _Refusal("Drip-feed is disabled for this service")
            runs, interval = _integer(runs_text), _integer(interval_text)
            if runs < 1 or interval < 1:
                raise _Refusal("Incorrect request")
        charge = _money(service.rate * quantity * runs / 1000)
        self._debit(charge)
        order_id = self._next_order_id
        self._next_order_id += 1
        total = quantity * runs
        fate, final_remains, start_count = self._fate(order_id, total)
        order = _Order(
            id=order_id,
            service=service,
            link=link,
            quantity=total,
            runs=runs,
            charge=charge,
            created_at=now,
            fate=fate,
            final_remains=final_remains,
            start_count=start_count,
        )
        self._orders[order_id] = order
        self._schedule(now + self._final_stage(order) * self.stage_seconds, "order", order_id)
        return self._dialect.added(order_id)

    def _subscription_quantity(self, fields: dict[str, str], service: Service) -> int:
        """Subscriptions are charged up front for one post of `max` (the simulator's simplification)."""
        low, high, delay = _integer(fields.get("min")), _integer(fields.get("max")), _integer(fields.get("delay"))
        self._check_bounds(low, service.min, service.max)
        self._check_bounds(high, service.min, service.max)
        if low > high:
            raise _Refusal("Incorrect request")
        if delay not in self._dialect.subscription_delays:
            raise _Refusal("Incorrect delay")
        for name in ("posts", "old_posts"):
            if fields.get(name, "").strip() and _integer(fields[name]) < 0:
                raise _Refusal("Incorrect request")
        if expiry := fields.get("expiry", "").strip():
            try:
                datetime.strptime(expiry, "%d/%m/%Y")
            except ValueError:
                raise _Refusal("Incorrect expiry date") from None
        return high

    @staticmethod
    def _check_bounds(quantity: int, low: int, high: int) -> None:
        if quantity < low:
            raise _Refusal(f"Quantity less than minimal {low}")
        if quantity > high:
            raise _Refusal(f"Quantity more than maximum {high}")

    def _debit(self, charge: Decimal) -> None:
        if charge > self._balance:
            raise _Refusal("Not enough funds on balance")
        self._balance -= charge

    def _act_status(self, fields: dict[str, str], now: float) -> Any:
        if fields.get("orders", "").strip():
            answer = {}
            for token in self._ids(fields["orders"]):
                order = _by_id(self._orders, token)
                answer[token] = (
                    self._status_answer(order, now) if order else self._dialect.item_error("Incorrect order ID")
                )
            return answer
        if not fields.get("order", "").strip():
            raise _Refusal("Incorrect request")
        return self._status_answer(self._find_order(fields["order"]), now)

    def _act_cancel(self, fields: dict[str, str], now: float) -> Any:
        text = fields.get("orders", "").strip() or fields.get("order", "").strip()
        answer = []
        for token in self._ids(text):
            order_id = _id_of(token)
            try:
                self._cancel_one(token, now)
                outcome: Any = 1
            except _Refusal as refusal:
                outcome = self._dialect.item_error(refusal.message)
            answer.append({"order": token if order_id is None else order_id, "cancel": outcome})
        return answer

    def _cancel_one(self, token: str, now: float) -> None:
        """A cancel takes effect at the order's next stage, with everything given back."""
        order = self._find_order(token)
        if not order.service.cancel:
            raise _Refusal("Cancel is disabled for this service")
        view = self._order_view(order, now)
        if view.status == "Canceled":
            raise _Refusal("Order is already canceled")
        if view.final:
            raise _Refusal("Order is already completed")
        if order.cancel_stage is not None:
            raise _Refusal("Cancel already requested")
        order.cancel_stage = view.stage + 1
        self._schedule(order.created_at + order.cancel_stage * self.stage_seconds, "order", order.id)

    def _act_balance(self, fields: dict[str, str], now: float) -> Any:
        return self._dialect.balance(self._balance, self.currency)

    # Refills.

    def _refill_status(self, refill: _Refill, now: float) -> str:
        stage = self._stage(refill.created_at, now)
        if stage == 0:
            return "Pending"
        if stage == 1:
            return "In progress"
        return "Rejected" if refill.rejected else "Completed"

    def _refill_one(self, token: str, now: float) -> int:
        order = self._find_order(token)
        if not order.service.refill:
            raise _Refusal("Refill is disabled for this service")
        if self._order_view(order, now).status not in ("Completed", "Partial"):
            raise _Refusal("The order is not completed")
        last = self._refills.get(order.last_refill_id) if order.last_refill_id else None
        if last and self._refill_status(last, now) in ("Pending", "In progress"):
            raise _Refusal("The order was completed or refill was requested less than 24 hours ago")
        refill_id = self._next_refill_id
        self._next_refill_id += 1
        rejected = random.Random(f"{self.seed}:refill:{refill_id}").random() < self.refill_reject_rate
        if self._forced_refill_fates:
            rejected = self._forced_refill_fates.popleft() == "rejected"
        self._refills[refill_id] = _Refill(refill_id, order.id, now, rejected)
        order.last_refill_id = refill_id
        return refill_id

    def _act_refill(self, fields: dict[str, str], now: float) -> Any:
        if fields.get("orders", "").strip():
            answer = []
            for token in self._ids(fields["orders"]):
                order_id = _id_of(token)
                try:
                    outcome: Any = self._refill_one(token, now)
                except _Refusal as refusal:
                    outcome = self._dialect.item_error(refusal.message)
                answer.append({"order": token if order_id is None else order_id, "refill": outcome})
            return answer
        if not fields.get("order", "").strip():
            raise _Refusal("Incorrect request")
        return self._dialect.refill_created(self._refill_one(fields["order"], now))

    def _act_refill_status(self, fields: dict[str, str], now: float) -> Any:
        not_found = self._dialect.refill_not_found
        if fields.get("refills", "").strip():
            answer = []
            for token in self._ids(fields["refills"]):
                refill_id = _id_of(token)
                refill = _by_id(self._refills, token)
                status: Any = (
                    self._dialect.word(self._refill_status(refill, now))
                    if refill
                    else self._dialect.item_error(not_found)
                )
                answer.append({"refill": token if refill_id is None else refill_id, "status": status})
            return answer
        if not fields.get("refill", "").strip():
            raise _Refusal("Incorrect request")
        refill = _by_id(self._refills, fields["refill"])
        if refill is None:
            raise _Refusal(not_found)
        return self._dialect.refill_status(self._refill_status(refill, now))

    # Products (dialect 003).

    def _product_order_view(self, order: _ProductOrder, now: float) -> ProductOrderView:
        stage = self._stage(order.created_at, now)
        final_stage = 1 if order.product.type == "Auto" else 2
        result = note = None
        if stage == 0:
            status = "Pending"
        elif stage < final_stage:
            status = "In progress"
        elif order.canceled:
            status, note = "Canceled", "Out of stock"
        else:
            status, result = "Completed", order.result
        return ProductOrderView(order.id, order.product.id, order.quantity, order.charge, status, result, note)

    def _act_products(self, fields: dict[str, str], now: float) -> Any:
        return [self._dialect.product(product, self._inventory[product.id]) for product in self._products]

    def _act_add_product_order(self, fields: dict[str, str], now: float) -> Any:
        product_text = fields.get("product", "").strip()
        if not product_text:
            raise _Refusal("Incorrect request")
        product = _by_id(self._products_by_id, product_text)
        if product is None:
            raise _Refusal("Incorrect product ID")
        quantity = _integer(fields.get("quantity"))
        self._check_bounds(quantity, product.min, product.max)
        if product.require and not fields.get("require", "").strip():
            raise _Refusal("Incorrect request")
        inventory = self._inventory[product.id]
        if inventory == 0:
            raise _Refusal("Product is out of stock")
        if inventory is not None and quantity > inventory:
            raise _Refusal("Not enough products in stock")
        charge = _money(product.rate * quantity)
        self._debit(charge)
        if inventory is not None:
            self._inventory[product.id] = inventory - quantity
        order_id = self._next_product_order_id
        self._next_product_order_id += 1
        rng = random.Random(f"{self.seed}:product-order:{order_id}")
        canceled = rng.random() < self.cancel_rate
        if product.type == "Auto":
            result = "\n".join(str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(quantity))
        else:
            result = "Done"
        self._product_orders[order_id] = _ProductOrder(order_id, product, quantity, charge, now, canceled, result)
        final_stage = 1 if product.type == "Auto" else 2
        self._schedule(now + final_stage * self.stage_seconds, "product", order_id)
        return {"order": order_id}

    def _product_status_answer(self, order: _ProductOrder, now: float) -> dict[str, Any]:
        view = self._product_order_view(order, now)
        charge = Decimal(0) if view.status == "Canceled" else view.charge
        answer: dict[str, Any] = {"charge": decimal_number(charge), "status": view.status}
        if view.result is not None:
            answer["result"] = view.result
        if view.note is not None:
            answer["note"] = view.note
        return answer

    def _act_product_order_status(self, fields: dict[str, str], now: float) -> Any:
        if fields.get("orders", "").strip():
            answer: dict[str, Any] = {}
            for token in self._ids(fields["orders"]):
                order = _by_id(self._product_orders, token)
                answer[token] = self._product_status_answer(order, now) if order else {"error": "Incorrect order ID"}
            return answer
        if not fields.get("order", "").strip():
            raise _Refusal("Incorrect request")
        order = _by_id(self._product_orders, fields["order"])
        if order is None:
            raise _Refusal("Incorrect order ID")
        return self._product_status_answer(order, now)
