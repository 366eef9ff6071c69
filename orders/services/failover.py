"""Failover: an order its provider refused is placed at its service's next alternative, never at two.

An operator gives a service an ordered list of alternative provider services. When the provider
an order is placed at refuses it for good (a permanent error: its "Not enough funds", "Incorrect
service ID", an unreachable provider after every connection attempt failed before sending), or
when that provider's circuit breaker is open, the placing worker moves the order to the next
alternative and sends it there. It moves on only after
a refusal, which means the provider created no order: an `add` whose answer was lost goes to review
as always, never to the next provider. The customer's charge never changes; the order's cost is
recomputed from the alternative's rate.
"""

import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import PanelError
from core.money import order_charge
from orders.models import Order, OrderEvent, Service, ServiceAlternative
from orders.pricing import service_cost
from providers.errors import ProviderError, ProviderUnreachable
from providers.models import Provider, ProviderService

logger = logging.getLogger(__name__)
S = Order.Status


class AlternativeInvalid(PanelError):
    default_message = "This provider service cannot stand in for the service."


def service_alternative_check(*, service: Service, provider_service: ProviderService) -> None:
    """Raise AlternativeInvalid unless `provider_service` can take the service's orders as they are."""
    if provider_service.pk == service.provider_service_id:
        raise AlternativeInvalid("The service's own provider service is always tried first.")
    if provider_service.kind != service.kind:
        raise AlternativeInvalid(f"A {service.get_kind_display().lower()} needs an alternative of the same kind.")
    if provider_service.type != service.provider_service.type:
        # The order's fields are those of its type (comments, usernames...): another type would refuse them.
        raise AlternativeInvalid(
            f"The alternative's type is {provider_service.type!r}, the service's {service.provider_service.type!r}."
        )


def order_alternatives_next(*, order: Order) -> list[ServiceAlternative]:
    """The alternatives after the one the order is at (all of them while it is at its own provider service)."""
    alternatives = list(
        ServiceAlternative.objects.filter(service_id=order.service_id)
        .select_related("provider_service__provider")
        .order_by("position", "pk")
    )
    if order.provider_service_id is not None:
        ids = [a.provider_service_id for a in alternatives]
        if order.provider_service_id not in ids:
            return []  # at an alternative the operator has since removed: it goes nowhere else
        alternatives = alternatives[ids.index(order.provider_service_id) + 1 :]
    return [
        a
        for a in alternatives
        if a.provider_service.is_available
        and a.provider_service.provider.is_active
        and a.provider_service_id != order.service.provider_service_id
    ]


def order_alternative_cost(*, order: Order, provider_service: ProviderService) -> Decimal:
    """What the alternative will charge us for the order, in our currency: its rate, the order's quantity."""
    rate = service_cost(provider=provider_service.provider, upstream_rate=provider_service.rate)
    # A package's quantity is its size, so one rule prices every type (orders.pricing.order_price).
    return order_charge(rate=rate, quantity=order.quantity, runs=order.runs or 1, per=order.service.units_per_rate)


def provider_circuit_failing(provider: Provider) -> bool:
    """Whether the provider's circuit breaker is open (see providers.services.provider_circuit_open).

    Read only: the probe that may close it again is left to the poll, so that no order waits on,
    or is sent as, a probe of a provider that keeps failing.
    """
    return provider.consecutive_failures >= settings.PROVIDER_CIRCUIT_FAILURES and provider.next_probe_at is not None


def order_failover_circuit(*, order: Order, actor: str) -> Order | None:
    """An order about to be sent to a provider whose circuit is open goes to the next alternative
    instead, without anything sent; None (send as usual) when the circuit is closed or no alternative is left."""
    if not provider_circuit_failing(order.provider):
        return None
    error = ProviderUnreachable(
        f"its circuit is open after {order.provider.consecutive_failures} failures in a row",
        provider=order.provider.name,
        action="add",
        request_sent=False,
    )
    return order_failover(order=order, error=error, actor=actor)


def order_failover(*, order: Order, error: ProviderError, actor: str) -> Order | None:
    """Move an order its provider refused (still `placing`) to the next alternative; return it, ready to send.

    None when there is no alternative left, when the customer asked to cancel meanwhile (the
    refusal means nothing runs upstream: the caller cancels and refunds), or when the order left
    `placing` (the stuck-order sweep sent it to review). The move is a compare-and-set on the
    order still being placed at the provider service that refused it, and it writes an event
    naming both providers and the reason.
    """
    following = order_alternatives_next(order=order)
    if not following:
        return None
    refused, target = order.upstream_service, following[0].provider_service
    cost = order_alternative_cost(order=order, provider_service=target)
    now = timezone.now()
    reason = (
        f"failover: {order.provider.name} service {refused.service_id} did not take it ({error.message}); "
        f"placing at {target.provider.name} service {target.service_id}, cost {cost}"
    )
    with transaction.atomic():
        moved = Order.objects.filter(
            pk=order.pk,
            status=S.PLACING,
            provider_id=order.provider_id,
            provider_service_id=order.provider_service_id,
            cancel_requested_at__isnull=True,
        ).update(
            provider_id=target.provider_id,
            provider_service_id=target.pk,
            cost=cost,
            error="",
            # The alternative's `add` gets its own time before the stuck-order sweep, and its own attempts.
            placing_started_at=now,
            placement_attempts=1,
            updated_at=now,
        )
        if not moved:
            return None
        OrderEvent.objects.create(
            order_id=order.pk, from_status=S.PLACING, to_status=S.PLACING, actor=actor, reason=reason[:500]
        )
    logger.info("order %s: %s", order.pk, reason)
    return Order.objects.select_related("service__provider_service", "provider", "provider_service").get(pk=order.pk)
