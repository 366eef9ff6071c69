"""System checks of billing: the test gateway must never take money in production."""

from django.conf import settings
from django.core.checks import Warning
from django.db import DatabaseError


def check_test_gateway(app_configs=None, **kwargs) -> list[Warning]:
    from billing.gateways import test_gateway_enabled
    from billing.models import PaymentMethod

    warnings: list[Warning] = []
    if settings.PAYMENTS_TEST_GATEWAY and not settings.DEBUG:
        warnings.append(
            Warning(
                "PAYMENTS_TEST_GATEWAY=1 with DEBUG off: any customer can add funds without paying.",
                hint="Unset PAYMENTS_TEST_GATEWAY in production.",
                id="billing.W001",
            )
        )
    try:
        count = PaymentMethod.objects.filter(gateway="test").count()
    except (DatabaseError, RuntimeError):
        # No database yet (before migrate, a check without one, a test that blocks it): nothing to warn about.
        return warnings
    if count and not test_gateway_enabled():
        warnings.append(
            Warning(
                f"{count} payment method(s) use the test gateway, which is disabled: customers cannot pay with them.",
                hint="Delete them or switch them to a real gateway in the admin (Billing → Payment methods).",
                id="billing.W002",
            )
        )
    return warnings
