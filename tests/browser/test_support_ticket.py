"""A ticket walked in headless Chromium: a customer asks about an order with a screenshot, staff act and answer."""

from io import BytesIO

import pytest
from PIL import Image

from orders.models import Order, Refill
from support.models import Ticket, TicketAttachment
from tests.panel.factories import UserFactory
from tests.support.factories import charged_order, staff_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "password-for-tests")
    page.click("#login-submit")
    page.wait_for_selector("#nav")


def test_a_customer_and_staff_walk_a_ticket(live_server, chromium, screenshot, tmp_path):
    base = live_server.url
    customer = UserFactory(balance="10", username="buyer")
    order = charged_order(customer, status=Order.Status.COMPLETED)
    staff_user("support.handle_ticket", "orders.cancel_refund_order", "orders.view_order", username="agent")
    image = tmp_path / "proof.png"
    Image.new("RGB", (120, 80), (20, 120, 200)).save(image)
    errors: list[str] = []

    customer_page = chromium.new_page()
    customer_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(customer_page, base, "buyer")
    customer_page.click("[data-testid=nav-tickets]")
    customer_page.click("[data-testid=ticket-new-link]")
    customer_page.wait_for_load_state("load")
    customer_page.select_option("#id_subject_type", "payment")
    customer_page.wait_for_selector("#field-orders", state="hidden")
    customer_page.select_option("#id_subject_type", "order_refill")
    customer_page.wait_for_selector("#field-orders", state="visible")
    customer_page.fill("#id_orders", str(order.pk))
    customer_page.fill("#id_title", "Followers dropped")
    customer_page.fill("#id_body", "Half of them are gone, see the screenshot.")
    customer_page.set_input_files("#id_attachments", str(image))
    screenshot(customer_page, "support-01-new-ticket")
    customer_page.click("[data-testid=ticket-submit]")
    customer_page.wait_for_selector("[data-testid=ticket-message]")
    ticket = Ticket.objects.get()
    customer_page.wait_for_function("() => document.querySelector('img.attachment-thumb').naturalWidth > 0")
    assert customer_page.locator("img.attachment-thumb").evaluate("img => img.naturalWidth") == 120
    screenshot(customer_page, "support-02-ticket")

    agent_page = chromium.new_page()
    agent_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(agent_page, base, "agent")
    agent_page.click("[data-testid=nav-support-queue]")
    agent_page.wait_for_selector(f"[data-testid=queue-row][data-ticket-id='{ticket.pk}'][data-unread='1']")
    screenshot(agent_page, "support-03-queue")
    agent_page.click(f"[data-testid=queue-row][data-ticket-id='{ticket.pk}'] a >> nth=0")
    agent_page.click("[data-testid=order-refill]")
    agent_page.wait_for_selector(".ticket-event")
    assert Refill.objects.get().order_id == order.pk
    agent_page.fill("#id_body", "Refill requested, it starts within a day.")
    agent_page.click("#reply-submit")
    agent_page.wait_for_selector("[data-testid=message]")
    screenshot(agent_page, "support-04-staff-ticket")

    customer_page.goto(f"{base}/")
    assert customer_page.inner_text("[data-testid=nav-tickets-count]") == "1"
    customer_page.click("[data-testid=nav-tickets]")
    customer_page.click(f"[data-testid=ticket-row][data-ticket-id='{ticket.pk}'] a >> nth=0")
    assert "Refill requested, it starts within a day." in customer_page.inner_text("#conversation")
    assert customer_page.locator("[data-testid=nav-tickets-count]").count() == 0
    screenshot(customer_page, "support-05-answered")
    customer_page.set_viewport_size({"width": 390, "height": 844})
    screenshot(customer_page, "support-06-answered-phone")
    assert errors == []
    attachment = TicketAttachment.objects.get()
    image_bytes = customer_page.request.get(f"{base}/tickets/attachments/{attachment.pk}/").body()
    assert Image.open(BytesIO(image_bytes)).size == (120, 80)
