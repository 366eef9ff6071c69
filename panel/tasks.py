from celery import shared_task

from panel.services import password_reset_mail_send


@shared_task(name="panel.tasks.password_reset_mail_task")
def password_reset_mail_task(*, email: str, domain: str, use_https: bool, language: str = "") -> None:
    """Mail the reset link outside the request: a known and an unknown address answer alike."""
    password_reset_mail_send(email=email, domain=domain, use_https=use_https, language=language)
