"""Taking an order: validate it for its service, charge it, and queue its placement."""

import hashlib
import logging

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from billing.errors import InsufficientFunds
from billing.services import balance_debit
from core.errors import PanelError
from core.ids import id_parse
from orders.models import Order, Refill, Service, ServiceAlternative
from orders.order_fields import Code, OrderInvalid
from orders.order_types import order_fields_clean
from orders.pricing import MONEY_CEILING, order_price, price_list_for
from orders.rules import CANCEL_REQUESTABLE, order_cancel_pending, order_refill_refusal, refill_wait
from orders.services.transitions import ACTIVE, StatusChanged, order_transition

logger = logging.getLogger(__name__)

ACTIVE_LINK_MESSAGE = "You have active order with this link. Please wait until order being completed."


class AccountSuspended(PanelError):
    default_message = gettext_lazy("Your account has been suspended.")


def order_create(*, user, service_id: object, data: dict, kind: str | None = None) -> Order:
    """Charge the customer and record the order in one transaction; placement is queued after commit.

    `data` holds the order's fields as the customer gave them (link, quantity, comments...).
    `kind` restricts the order to services or to products (seed 003's add_product_order).
    Raises OrderInvalid (naming the field and why) or InsufficientFunds; then nothing is written.
    """
    if not user.is_active:
        raise AccountSuspended()
    service = _service_for_sale(service_id, kind=kind)
    clean = order_fields_clean(
        service_type=service.type,
        data=data,
        low=service.min,
        high=service.max,
        dialect=service.provider.dialect,
    )
    if service.kind == Service.Kind.PRODUCT and service.require and not clean.params.get("require"):
        raise OrderInvalid(
            f"Incorrect request: require is required ({service.require})", field="require", code=Code.REQUIRED
        )
    # A product short at its provider is still sold when an alternative may take it (failover.py).
    count_stock = service.kind == Service.Kind.PRODUCT and not _has_alternatives(service=service)
    if count_stock:
        _product_stock_check(service=service, quantity=clean.quantity)
    guard_link = service.refuse_active_link and bool(clean.link)
    # The customer's own rate (custom, or the catalog's less their discount), fixed on the order with its charge.
    prices = price_list_for(user=user, service_ids=[service.pk])
    price = order_price(service=service, quantity=clean.quantity, runs=clean.runs, prices=prices)
    # Runs the provider cannot take (it advertises no drip-feed) are run by the panel: orders.services.dripfeed.
    by_panel = clean.runs is not None and not service.dripfeed
    if price.charge >= MONEY_CEILING or price.cost >= MONEY_CEILING:
        raise InsufficientFunds()  # no balance can hold it: refused before the row would overflow its column
    with transaction.atomic():
        if guard_link:
            _link_guard_lock(user_id=user.pk, link=clean.link)
            if Order.objects.filter(user=user, link=clean.link, status__in=ACTIVE).exists():
                raise OrderInvalid(ACTIVE_LINK_MESSAGE, field="link", code=Code.ACTIVE_LINK)
        if count_stock and service.inventory is not None:
            _product_stock_take(service=service, quantity=clean.quantity)
        order = Order.objects.create(
            user=user,
            service=service,
            provider_id=service.provider_id,
            link=clean.link,
            quantity=clean.quantity,
            runs=clean.runs,
            interval=clean.interval,
            params=clean.params,
            rate=price.rate,
            charge=price.charge,
            cost=price.cost,
            dripfeed_by_panel=by_panel,
            # Never placed itself: its runs are; it reads Pending until they start.
            status=Order.Status.PENDING if by_panel else Order.Status.AWAITING,
        )
        if price.charge > 0:
            balance_debit(user_id=user.pk, amount=price.charge, reference=f"order:{order.pk}", memo=f"Order {order.pk}")
        if by_panel:
            from orders.services.dripfeed import dripfeed_start

            dripfeed_start(parent=order, now=timezone.now())
        else:
            transaction.on_commit(lambda: order_placement_queue(order_id=order.pk))
    return order


OUT_OF_STOCK = "Product is out of stock"


def _has_alternatives(*, service: Service) -> bool:
    return ServiceAlternative.objects.filter(
        service=service, provider_service__is_available=True, provider_service__provider__is_active=True
    ).exists()


def _product_stock_check(*, service: Service, quantity: int) -> None:
    """A product its provider reports out of stock is not sold until a sync finds it back."""
    if not service.in_stock:
        raise OrderInvalid(OUT_OF_STOCK, field="product", code=Code.OUT_OF_STOCK)
    if service.inventory is not None and quantity > service.inventory:
        raise OrderInvalid(
            f"Not enough products in stock: {service.inventory} left",
            field="quantity",
            code=Code.ABOVE_MAX,
            limit=service.inventory,
        )


def _product_stock_take(*, service: Service, quantity: int) -> None:
    """Count the order against the inventory at once (one conditional UPDATE), so that two customers never buy the
    last one between two syncs; the next sync brings the provider's own count back."""
    taken = Service.objects.filter(pk=service.pk, inventory__gte=quantity).update(inventory=F("inventory") - quantity)
    if not taken:
        raise OrderInvalid(OUT_OF_STOCK, field="product", code=Code.OUT_OF_STOCK)
    Service.objects.filter(pk=service.pk, inventory=0).update(in_stock=False)


def _link_guard_lock(*, user_id: int, link: str) -> None:
    """Serialize the orders of one customer on one link until the transaction ends.

    Without it, simultaneous adds all see "no active order on this link" and all go through.
    On PostgreSQL a transaction-level advisory lock keyed on (customer, link) makes the check
    and the insert atomic for that pair only (a hash collision merely makes two unrelated pairs
    wait for each other). SQLite needs nothing: our transactions there are IMMEDIATE, so
    writers already run one at a time. Other databases keep the check without the lock.
    """
    if connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b(f"order-link:{user_id}:{link}".encode(), digest_size=8).digest()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)])


def _service_for_sale(service_id: object, *, kind: str | None) -> Service:
    wrong = "Incorrect product ID" if kind == Service.Kind.PRODUCT else "Incorrect service ID"
    field = "product" if kind == Service.Kind.PRODUCT else "service"
    pk = id_parse(service_id)
    if pk is None:
        raise OrderInvalid(wrong, field=field, code=Code.UNKNOWN_SERVICE)
    filters = {"pk": pk, "is_enabled": True, "provider__is_active": True}
    if kind:
        filters["kind"] = kind
    service = next(iter(Service.objects.filter(**filters).select_related("provider").order_by()), None)
    if service is None:
        raise OrderInvalid(wrong, field=field, code=Code.UNKNOWN_SERVICE)
    return service


def order_placement_queue(*, order_id: int) -> None:
    """Hand the order to a worker. A broker failure is logged, not raised: the periodic sweep
    re-queues every order still awaiting placement, so nothing is lost."""
    from orders.tasks import order_place_task

    try:
        order_place_task.delay(order_id)
    except Exception:
        logger.exception("could not queue order %s; the sweep will pick it up", order_id)


def refill_request(*, user, order_id: object) -> Refill:
    """A customer asks for a refill of a completed order; it is sent upstream by the next cycle."""
    order = _customer_order(user=user, order_id=order_id)
    if order.parent_id is not None:
        raise OrderInvalid(gettext("Incorrect order ID"))
    refusal = order_refill_refusal(order=order)
    if refusal:
        raise OrderInvalid(refusal)
    with transaction.atomic():
        # The lock makes "one open refill per order" and the cooldown hold under concurrent requests.
        Order.objects.select_for_update().filter(pk=order.pk).first()
        wait = refill_wait(last_refill=order.refills.order_by("-created_at").first())
        if wait is not None and wait.open:
            raise OrderInvalid(gettext("A refill of this order is already in progress."))
        if wait is not None:
            raise OrderInvalid(gettext("A refill of this order was requested less than 24 hours ago."))
        return Refill.objects.create(order=order, user=user)


def order_cancel_request(*, user, order_id: object) -> Order:
    """A customer asks to cancel.

    An order awaiting placement is cancelled and refunded at once if this request locks its row
    before a worker claims it; the worker then finds nothing to place. Otherwise (the worker won,
    or the order was already placed) the cancel is recorded on the order and sent upstream by the
    next cancel batch, and the refund follows the status the provider reports. Never both: the
    refund here is a compare-and-set from `awaiting`, which a claimed order has left.
    """
    order = _customer_order(user=user, order_id=order_id)
    if order.status == Order.Status.AWAITING:
        try:
            return order_transition(
                order_id=order.pk,
                from_status=Order.Status.AWAITING,
                status=Order.Status.CANCELED,
                actor=f"customer:{user.pk}",
                reason="cancelled by the customer before placement",
            )
        except StatusChanged:
            pass  # a worker claimed it first: the cancel goes upstream
    if not order.service.cancel:
        raise OrderInvalid(gettext("Cancel is disabled for this service"))
    requested = Order.objects.filter(
        pk=order.pk, status__in=CANCEL_REQUESTABLE, cancel_requested_at__isnull=True
    ).update(cancel_requested_at=timezone.now())
    order.refresh_from_db()
    if not requested:
        if order_cancel_pending(order=order):
            raise OrderInvalid(gettext("Cancellation of this order was already requested."))
        raise OrderInvalid(gettext("The order cannot be cancelled now."))
    return order


def _customer_order(*, user, order_id: object) -> Order:
    pk = id_parse(order_id)
    if pk is None:
        raise OrderInvalid(gettext("Incorrect order ID"))
    order = Order.objects.select_related("service").filter(pk=pk, user=user).first()
    if order is None:
        raise OrderInvalid(gettext("Incorrect order ID"))
    return order


def order_review_resend(*, order_id: int, staff_id: int) -> Order:
    """An operator checked the provider and found no order: send it again.

    Only from review, compare-and-set: an order a worker is still placing is never queued twice.
    """
    order = order_transition(
        order_id=order_id,
        from_status=Order.Status.NEEDS_REVIEW,
        status=Order.Status.AWAITING,
        actor=f"staff:{staff_id}",
        reason="resend after review",
        error="",
    )
    transaction.on_commit(lambda: order_placement_queue(order_id=order_id))
    return order


def order_review_attach(*, order_id: int, upstream_order_id: str, staff_id: int) -> Order:
    """An operator found the order at the provider: attach its id and let polling take over."""
    upstream_order_id = upstream_order_id.strip()
    if not upstream_order_id:
        raise OrderInvalid("The provider's order id is required.")
    order = Order.objects.get(pk=order_id)
    duplicate = OrderInvalid(f"Another order already has the provider's id {upstream_order_id}.")
    if (
        Order.objects.filter(provider_id=order.provider_id, upstream_order_id=upstream_order_id)
        .exclude(pk=order_id)
        .exists()
    ):
        raise duplicate
    try:
        return order_transition(
            order_id=order_id,
            from_status=Order.Status.NEEDS_REVIEW,
            status=Order.Status.PENDING,
            actor=f"staff:{staff_id}",
            reason="upstream id attached after review",
            upstream_order_id=upstream_order_id,
            placed_at=timezone.now(),
            error="",
        )
    except IntegrityError:
        raise duplicate from None  # the same id was recorded on another order meanwhile


STAFF_CANCELLABLE = (Order.Status.AWAITING, Order.Status.NEEDS_REVIEW)


def order_cancel_refund(*, order_id: int, staff_id: int, reason: str = "") -> Order:
    """An operator cancels an order that is certainly not running upstream, refunding it in full.

    Only from awaiting placement or review, compare-and-set: if a worker claims the order first,
    the operator is told and nothing is refunded. An order the provider is working on is
    cancelled there (a customer's cancel request), so that the refund follows what the provider
    really delivered.
    """
    try:
        return order_transition(
            order_id=order_id,
            from_status=STAFF_CANCELLABLE,
            status=Order.Status.CANCELED,
            actor=f"staff:{staff_id}",
            reason=reason or "cancelled by staff",
            error=reason or "Cancelled by staff.",
        )
    except StatusChanged:
        status = Order.objects.values_list("status", flat=True).get(pk=order_id)
        raise OrderInvalid(
            f"Order {order_id} is {Order.Status(status).label}: only orders awaiting placement or review can be "
            "cancelled with a full refund; running orders are cancelled at the provider."
        ) from None
