from django.apps import AppConfig


class PanelConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "panel"
    verbose_name = "Panel"

    def ready(self) -> None:
        # Binds @shared_task to our Celery app in every process (web, worker, commands),
        # so that a task queued from a view goes to the configured broker.
        from panel import celery, checks  # noqa: F401
