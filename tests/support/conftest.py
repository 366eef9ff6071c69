import pytest

from tests.support.factories import staff_user


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Attachments go to a folder of the test's own."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def handler(db):
    """Support staff who may answer tickets and cancel orders with a refund."""
    return staff_user("support.handle_ticket", "orders.cancel_refund_order", "orders.view_order")
