from django.apps import AppConfig
from django.core import checks


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"

    def ready(self) -> None:
        from billing.checks import check_test_gateway

        checks.register(check_test_gateway)
