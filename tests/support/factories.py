"""Support test helpers (also for the browser walk): staff with exact permissions, charged orders, images."""

from decimal import Decimal
from io import BytesIO

from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from orders.models import Order
from orders.services.ordering import order_create
from orders.services.transitions import order_transition
from tests.orders.factories import ServiceFactory
from tests.panel.factories import UserFactory

S = Order.Status


def staff_user(*permissions: str, **fields):
    """A staff member holding exactly `permissions` ("app.codename")."""
    user = UserFactory(is_staff=True, **fields)
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


def charged_order(user, *, status: str = S.AWAITING, rate: str = "2", quantity: int = 1000, **fields) -> Order:
    """An order charged through the ledger, moved to `status` through the transition function."""
    service = ServiceFactory(rate=Decimal(rate))
    order = order_create(user=user, service_id=service.pk, data={"link": "https://x.test/p", "quantity": quantity})
    path = {
        S.AWAITING: [],
        S.PLACING: [S.PLACING],
        S.NEEDS_REVIEW: [S.PLACING, S.NEEDS_REVIEW],
        S.PENDING: [S.PLACING, S.PENDING],
        S.IN_PROGRESS: [S.PLACING, S.PENDING, S.IN_PROGRESS],
        S.COMPLETED: [S.PLACING, S.PENDING, S.COMPLETED],
        S.PARTIAL: [S.PLACING, S.PENDING, S.PARTIAL],
        S.CANCELED: [S.PLACING, S.PENDING, S.CANCELED],
    }[status]
    for step in path:
        extra = {"upstream_order_id": f"up-{order.pk}"} if step == S.PENDING else {}
        if step == status:
            extra.update(fields)
        order = order_transition(order_id=order.pk, from_status=order.status, status=step, actor="test", **extra)
    return order


def png_upload(name: str = "screen.png", size: tuple[int, int] = (40, 30), image_format: str = "PNG", **info):
    out = BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, image_format, **info)
    content_type = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}[image_format]
    return SimpleUploadedFile(name, out.getvalue(), content_type=content_type)
