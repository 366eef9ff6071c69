"""System checks: refuse to start with settings that would quietly hurt customers."""

from django.conf import settings
from django.core.checks import Error, register

CONSOLE_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}


@register()
def email_backend_check(app_configs, **kwargs) -> list[Error]:
    """With DEBUG off, password-reset links must go to the customer, not to a log."""
    if settings.DEBUG or settings.EMAIL_BACKEND not in CONSOLE_EMAIL_BACKENDS:
        return []
    return [
        Error(
            f"EMAIL_BACKEND is {settings.EMAIL_BACKEND!r} with DEBUG off: password-reset links would be "
            "printed to the log instead of mailed.",
            hint="Set EMAIL_BACKEND (e.g. django.core.mail.backends.smtp.EmailBackend) and EMAIL_HOST, "
            "EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS in the environment.",
            id="panel.E001",
        )
    ]
