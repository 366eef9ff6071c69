"""Where ticket attachments live: a folder outside the web root that no URL maps to.

They are read back only through `support.views.attachment`, which checks who asks.
"""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    """A file system storage rooted at PRIVATE_MEDIA_ROOT (read when used, so tests can move it) with no URLs."""

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("Private files have no public URL; they are served by a view that checks access.")


_storage = PrivateStorage()


def private_storage() -> PrivateStorage:
    return _storage
