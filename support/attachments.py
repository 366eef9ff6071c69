"""Images attached to ticket messages: checked by decoding them, then re-encoded.

Re-encoding keeps only the pixels: a file that is also a script or an HTML page (a
polyglot), or that carries the photo's location in its EXIF data, comes out as a plain image.
"""

import uuid
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from core.errors import PanelError

# Pillow format → (content type, extension). Only these are accepted.
FORMATS = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}
# A small file can declare a huge canvas (a decompression bomb): refuse before decoding it.
MAX_PIXELS = 40_000_000
MAX_ATTACHMENTS = 3


class AttachmentInvalid(PanelError):
    default_message = "Attach images only (PNG, JPEG, GIF or WebP)."
    field = "attachments"


@dataclass
class CleanImage:
    content: bytes
    name: str
    storage_name: str
    content_type: str
    width: int
    height: int


def _encode(image: Image.Image, image_format: str) -> bytes:
    out = BytesIO()
    frames = getattr(image, "n_frames", 1)
    if image_format == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=90)
    elif image_format in ("GIF", "WEBP"):
        image.save(out, image_format, save_all=frames > 1)
    else:
        image.save(out, image_format)
    return out.getvalue()


def attachment_clean(*, upload: UploadedFile) -> CleanImage:
    """The upload as a re-encoded image, or AttachmentInvalid with a sentence for the customer."""
    limit = settings.SUPPORT_ATTACHMENT_MAX_BYTES
    if upload.size is None or upload.size > limit:
        raise AttachmentInvalid(
            _("%(name)s is larger than %(size)s KB.") % {"name": upload.name, "size": limit // 1024}
        )
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format
            if image_format not in FORMATS:
                raise AttachmentInvalid(_("%(name)s is not a PNG, JPEG, GIF or WebP image.") % {"name": upload.name})
            if image.width * image.height > MAX_PIXELS:
                raise AttachmentInvalid(_("%(name)s has too many pixels.") % {"name": upload.name})
            image.load()
            content = _encode(image, image_format)
            width, height = image.size
    except AttachmentInvalid:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError, EOFError):
        raise AttachmentInvalid(_("%(name)s is not a readable image.") % {"name": upload.name}) from None
    content_type, extension = FORMATS[image_format]
    try:
        stem = get_valid_filename(Path(upload.name or "image").stem)[:80]
    except SuspiciousFileOperation:
        stem = "image"
    return CleanImage(
        content=content,
        name=f"{stem}.{extension}",
        storage_name=f"{uuid.uuid4().hex}.{extension}",
        content_type=content_type,
        width=width,
        height=height,
    )


def attachments_clean(*, uploads: list[UploadedFile]) -> list[CleanImage]:
    if len(uploads) > MAX_ATTACHMENTS:
        raise AttachmentInvalid(_("Attach at most %(count)s images to one message.") % {"count": MAX_ATTACHMENTS})
    return [attachment_clean(upload=upload) for upload in uploads]
