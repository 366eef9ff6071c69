"""What a customer may do with an order now: refill it, cancel it.

One rule each, read by the pages that show or hide a button (the website, the staff's ticket
page) and by the services that decide (`refill_request`, `order_cancel_request`,
`dripfeed_cancel`). A page never offers what the service would refuse; the service still
decides under its lock or compare-and-set, since the row may change between page and click.
Pure functions over rows already read: no query, no write.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext

from orders.models import Order, Refill
from orders.services.transitions import ACTIVE, UPSTREAM_ACTIVE

S = Order.Status

# A refill is asked of a finished order, once a day at most, never while another is open.
REFILLABLE = (S.COMPLETED, S.PARTIAL)
REFILL_COOLDOWN = timedelta(hours=24)
# Statuses in which a customer's cancel is recorded for the workers: an order still awaiting
# (a refused connection put it back) is cancelled by the worker that claims it, before it sends
# anything; one being placed or running is cancelled at the provider once it has an upstream id.
CANCEL_REQUESTABLE = (S.AWAITING, S.PLACING, *UPSTREAM_ACTIVE)


def order_refill_guarantee_end(*, order: Order) -> datetime | None:
    """When a finished order's refill guarantee ends (its service's refill days after it finished); None: no end."""
    days = order.service.refill_days
    if days is None or order.finished_at is None:
        return None
    return order.finished_at + timedelta(days=days)


def order_refill_refusal(*, order: Order, now: datetime | None = None) -> str | None:
    """Why a refill of this order is refused whatever its earlier refills, in the customer's words; None: it may be
    asked for (subject to `refill_wait`)."""
    if not order.service.refill:
        return gettext("Refill is disabled for this service")
    if order.dripfeed_by_panel:
        return gettext("Refill is not available for a drip-feed run by the panel: ask our support.")
    if order.status not in REFILLABLE:
        return gettext("The order is not completed")
    ends = order_refill_guarantee_end(order=order)
    if ends is not None and (now or timezone.now()) > ends:
        return gettext("The refill guarantee of %(days)s days ended on %(date)s.") % {
            "days": order.service.refill_days,
            "date": f"{timezone.localtime(ends):%Y-%m-%d}",
        }
    return None


@dataclass(frozen=True)
class RefillWait:
    """Why a new refill must wait: the last one is still open, or its cooldown runs until `until`."""

    open: bool
    until: datetime | None = None


def refill_wait(*, last_refill: Refill | None, now: datetime | None = None) -> RefillWait | None:
    """What the order's latest refill makes a new one wait for; None: nothing."""
    if last_refill is None:
        return None
    if last_refill.status in Refill.OPEN:
        return RefillWait(open=True)
    until = last_refill.created_at + REFILL_COOLDOWN
    if until > (now or timezone.now()):
        return RefillWait(open=False, until=until)
    return None


def order_can_refill(*, order: Order, last_refill: Refill | None, now: datetime | None = None) -> bool:
    """The refill button: refill offered, the order finished, its guarantee running, no refill open or too recent."""
    now = now or timezone.now()
    return order_refill_refusal(order=order, now=now) is None and refill_wait(last_refill=last_refill, now=now) is None


def order_can_cancel(*, order: Order) -> bool:
    """The cancel button: a customer's cancel would be taken now.

    A drip-feed run by the panel stops its runs while it is active and not stopped yet. Any other
    order: no cancel asked for yet, and either still awaiting placement (cancelled here, whatever
    the service allows) or placed or being placed with a service that allows cancels.
    """
    if order.dripfeed_by_panel:
        return not order.runs_stopped and order.status in ACTIVE
    return order.cancel_requested_at is None and (
        order.status == S.AWAITING or (order.service.cancel and order.status in CANCEL_REQUESTABLE)
    )


def order_cancel_pending(*, order: Order) -> bool:
    """A customer's cancel was taken and the order has not settled yet ("Cancel requested")."""
    requested = order.runs_stopped if order.dripfeed_by_panel else order.cancel_requested_at is not None
    return requested and order.status in ACTIVE
