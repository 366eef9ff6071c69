import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings")

app = Celery("panel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The filesystem broker of the demo needs its folders before the first message.
for option in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
    folder = (app.conf.broker_transport_options or {}).get(option)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
