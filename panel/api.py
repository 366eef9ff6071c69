"""`POST /api/v2`: the API v2 protocol for our own customers, answer for answer like seeds 000/001/004.

One endpoint dispatches `action` through a table of small handlers. Each handler parses its
input, calls the same services as the website, and returns the protocol's exact shape.
Protocol errors are HTTP 200 with `{"error": "..."}`: widely used clients read no body
from any other status.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.utils import translation
from rest_framework.exceptions import APIException, Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import PanelError
from core.ids import ID_TEXT
from core.money import money_str
from orders.models import Order, Service
from orders.order_types import SERVICE_FIELD_NAMES, order_type_for
from orders.pricing import PriceList, price_list_for
from orders.selectors import orders_of_user, refills_of_user, services_for_sale
from orders.services.dripfeed import customer_order_cancel
from orders.services.ordering import order_create, refill_request
from orders.statuses import PROTOCOL_STATUS, REFILL_STATUS
from panel.formatting import duration_words
from panel.selectors import user_by_api_key
from panel.throttling import ApiIpThrottle, ApiKeyThrottle
from providers.protocol import PROTOCOL_BATCH as MAX_IDS

logger = logging.getLogger(__name__)

MAX_VALUE_LENGTH = 100_000
ID_PATTERN = ID_TEXT

# Every `add` parameter, from the one declaration of the order fields.
ORDER_FIELDS = SERVICE_FIELD_NAMES


class ApiError(PanelError):
    default_message = "Incorrect request"


def _scalar(data, name: str) -> str | None:
    """A parameter as text, whether it came form-encoded or as a JSON string or number."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ApiError(f"Incorrect request: {name} must be text")
    text = str(value)
    if len(text) > MAX_VALUE_LENGTH:
        raise ApiError(f"Incorrect request: {name} is too long")
    try:
        # JSON may carry lone surrogates ("\ud800"): text that can be neither stored nor echoed back.
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(f"Incorrect request: {name} must be text") from None
    if "\x00" in text:
        # PostgreSQL text cannot hold NUL: refused here as the client's mistake, not failed on save.
        raise ApiError(f"Incorrect request: {name} must not contain NUL characters")
    return text


def _required(data, name: str) -> str:
    value = _scalar(data, name)
    if value is None or not value.strip():
        raise ApiError(f"Incorrect request: {name} is required")
    return value.strip()


def _ids(text: str, name: str) -> list[str]:
    """Comma-separated ids as given (each answered under its own spelling), at most MAX_IDS."""
    ids = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not ids:
        raise ApiError(f"Incorrect request: {name} is required")
    if len(ids) > MAX_IDS:
        raise ApiError(f"Incorrect request: at most {MAX_IDS} ids in {name}")
    return ids


def _numeric(ids: list[str]) -> list[int]:
    return [int(i) for i in ids if ID_PATTERN.fullmatch(i)]


# The fields `_order_status` and `_product_order_status` read: orders are loaded with these alone.
ORDER_STATUS_FIELDS = ("status", "remains", "quantity", "runs", "start_count", "charge", "refunded")
PRODUCT_STATUS_FIELDS = ("status", "charge", "refunded", "result", "error")


def _order_status(order: Order) -> dict:
    remains = order.remains if order.remains is not None else order.total_quantity
    if order.status == Order.Status.COMPLETED:
        remains = 0
    return {
        "charge": money_str(order.net_charge),
        "start_count": str(order.start_count or 0),
        "status": PROTOCOL_STATUS[order.status],
        "remains": str(remains),
        "currency": settings.PANEL_CURRENCY,
    }


def action_services(user, data) -> object:
    prices = price_list_for(user=user)
    return [
        {
            "service": service.pk,
            "name": service.name,
            "type": service.type,
            "category": service.category.name,
            # The customer's own price (their custom rate, or the catalog's less their discount).
            "rate": money_str(prices.rate(service)),
            "min": str(service.min),
            "max": str(service.max),
            "refill": service.refill,
            "cancel": service.cancel,
            # Every type that declares runs takes them: the provider's drip-feed, or the panel's own.
            "dripfeed": order_type_for(service.type).takes_dripfeed,
            "desc": service.description,
            # Beyond the seeds' fields: what customers look for on a service.
            "refill_days": service.refill_days if service.refill else None,
            "average_time": duration_words(service.average_completion),
        }
        for service in services_for_sale()
    ]


def action_add(user, data) -> object:
    service_id = _required(data, "service")
    fields = {name: _scalar(data, name) for name in ORDER_FIELDS}
    order = order_create(user=user, service_id=service_id, data=fields)
    return {"order": order.pk}


def action_status(user, data) -> object:
    if _scalar(data, "orders") is not None:
        ids = _ids(_required(data, "orders"), "orders")
        orders = orders_of_user(user=user, order_ids=_numeric(ids), fields=ORDER_STATUS_FIELDS)
        return {
            i: _order_status(orders[int(i)])
            if ID_PATTERN.fullmatch(i) and int(i) in orders
            else {"error": "Incorrect order ID"}
            for i in ids
        }
    order_id = _required(data, "order")
    order = (
        orders_of_user(user=user, order_ids=_numeric([order_id]), fields=ORDER_STATUS_FIELDS).get(int(order_id))
        if ID_PATTERN.fullmatch(order_id)
        else None
    )
    if order is None:
        raise ApiError("Incorrect order ID")
    return _order_status(order)


def action_refill(user, data) -> object:
    if _scalar(data, "orders") is not None:
        answers = []
        for i in _ids(_required(data, "orders"), "orders"):
            order_number = int(i) if ID_PATTERN.fullmatch(i) else i
            try:
                refill = refill_request(user=user, order_id=i)
            except PanelError as error:
                answers.append({"order": order_number, "refill": {"error": error.message}})
            else:
                answers.append({"order": order_number, "refill": refill.pk})
        return answers
    refill = refill_request(user=user, order_id=_required(data, "order"))
    return {"refill": str(refill.pk)}


def action_refill_status(user, data) -> object:
    if _scalar(data, "refills") is not None:
        ids = _ids(_required(data, "refills"), "refills")
        refills = refills_of_user(user=user, refill_ids=_numeric(ids))
        answers = []
        for i in ids:
            refill = refills.get(int(i)) if ID_PATTERN.fullmatch(i) else None
            status = REFILL_STATUS[refill.status] if refill else {"error": "Refill not found"}
            answers.append({"refill": int(i) if ID_PATTERN.fullmatch(i) else i, "status": status})
        return answers
    refill_id = _required(data, "refill")
    refill = (
        refills_of_user(user=user, refill_ids=_numeric([refill_id])).get(int(refill_id))
        if ID_PATTERN.fullmatch(refill_id)
        else None
    )
    if refill is None:
        raise ApiError("Refill not found")
    return {"status": REFILL_STATUS[refill.status]}


def action_cancel(user, data) -> object:
    text = _scalar(data, "orders") or _scalar(data, "order")
    if not text or not text.strip():
        raise ApiError("Incorrect request: orders is required")
    answers = []
    for i in _ids(text, "orders"):
        order_number = int(i) if ID_PATTERN.fullmatch(i) else i
        try:
            customer_order_cancel(user=user, order_id=i)
        except PanelError as error:
            answers.append({"order": order_number, "cancel": {"error": error.message}})
        else:
            # The seeds answer 1 for an accepted cancel (its refund follows the provider's status).
            answers.append({"order": order_number, "cancel": 1})
    return answers


def action_balance(user, data) -> object:
    return {"balance": money_str(user.balance), "currency": settings.PANEL_CURRENCY}


def _product(product: Service, *, prices: PriceList) -> dict:
    """Seed 003's shape: inventory only where the provider counts it."""
    answer = {
        "product": product.pk,
        "name": product.name,
        "require": product.require,
        "rate": money_str(prices.rate(product)),
        "min": product.min,
        "max": product.max,
        "category": product.category.name,
        "status": "In stock" if product.in_stock else "Out of stock",
    }
    if product.inventory is not None:
        answer["inventory"] = product.inventory
    answer["type"] = product.type
    return answer


def action_products(user, data) -> object:
    prices = price_list_for(user=user)
    return [_product(product, prices=prices) for product in services_for_sale(kind=Service.Kind.PRODUCT)]


def action_add_product_order(user, data) -> object:
    product_id = _required(data, "product")
    fields = {"quantity": _scalar(data, "quantity"), "require": _scalar(data, "require")}
    order = order_create(user=user, service_id=product_id, data=fields, kind=Service.Kind.PRODUCT)
    return {"order": order.pk}


def _product_order_status(order: Order) -> dict:
    answer = {"charge": money_str(order.net_charge), "status": PROTOCOL_STATUS[order.status], "result": order.result}
    if order.status == Order.Status.CANCELED and order.error:
        answer["note"] = order.error
    return answer


def action_product_order_status(user, data) -> object:
    if _scalar(data, "orders") is not None:
        ids = _ids(_required(data, "orders"), "orders")
        orders = orders_of_user(
            user=user, order_ids=_numeric(ids), kind=Service.Kind.PRODUCT, fields=PRODUCT_STATUS_FIELDS
        )
        return {
            i: _product_order_status(orders[int(i)])
            if ID_PATTERN.fullmatch(i) and int(i) in orders
            else {"error": "Incorrect order ID"}
            for i in ids
        }
    order_id = _required(data, "order")
    orders = orders_of_user(
        user=user, order_ids=_numeric([order_id]), kind=Service.Kind.PRODUCT, fields=PRODUCT_STATUS_FIELDS
    )
    order = orders.get(int(order_id)) if ID_PATTERN.fullmatch(order_id) else None
    if order is None:
        raise ApiError("Incorrect order ID")
    return _product_order_status(order)


ACTIONS: dict[str, Callable] = {
    "services": action_services,
    "add": action_add,
    "status": action_status,
    "refill": action_refill,
    "refill_status": action_refill_status,
    "cancel": action_cancel,
    "balance": action_balance,
    "products": action_products,
    "add_product_order": action_add_product_order,
    "product_order_status": action_product_order_status,
}


class ApiV2View(APIView):
    throttle_classes = [ApiIpThrottle, ApiKeyThrottle]

    def dispatch(self, request, *args, **kwargs):
        # Clients match the error words: the services' messages, translated for the website,
        # stay English here whatever the browser's or the account's language.
        with translation.override("en"):
            response = super().dispatch(request, *args, **kwargs)
        response["Content-Language"] = "en"
        return response

    def get(self, request: Request) -> Response:
        return Response({"error": "Incorrect request: use POST with key and action in the body"})

    def post(self, request: Request) -> Response:
        data = request.data if hasattr(request.data, "get") else {}
        try:
            return Response(self.dispatch_action(data))
        except PanelError as error:
            return Response({"error": str(error.message)})

    def dispatch_action(self, data) -> object:
        key = _scalar(data, "key")
        user = user_by_api_key(key=key.strip()) if key else None
        if user is None:
            raise ApiError("Invalid API key")
        if not user.is_active:
            raise ApiError("Your account has been suspended.")
        action = (_scalar(data, "action") or "").strip().lower()
        handler = ACTIONS.get(action)
        if handler is None:
            raise ApiError("Incorrect request: unknown action" if action else "Incorrect request: action is required")
        return handler(user, data)

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, Throttled):
            wait = int(exc.wait or 1)
            response = Response({"error": f"Too many requests: retry in {wait} seconds"}, status=429)
            response["Retry-After"] = str(wait)
            return response
        # A malformed body (bad JSON, bad multipart) is the client's mistake; anything else is
        # ours and is logged as such. Either way the client gets a JSON error, never a 500 page.
        # Too large, too many fields (SuspiciousOperation) or nested too deep (RecursionError) is malformed too.
        if isinstance(exc, APIException | SuspiciousOperation | RecursionError):
            return Response({"error": "Incorrect request"})
        logger.error("api/v2 failed", exc_info=exc)
        return Response({"error": "Internal error: please retry later"})
