"""The support pages carry no inline script or event-handler attributes (a strict CSP is coming)."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from support.models import Announcement
from support.services import ticket_open
from tests.panel.factories import UserFactory
from tests.support.factories import png_upload, staff_user

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "support"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


@pytest.mark.parametrize("path", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_no_template_has_inline_script_or_handlers(path):
    text = path.read_text()
    assert not INLINE_SCRIPT.search(text) and not HANDLER.search(text)


@pytest.mark.django_db
def test_every_support_page_renders_without_inline_script(client):
    customer = UserFactory()
    ticket = ticket_open(user=customer, subject_type="other", title="t", body="b", files=[png_upload()])
    Announcement.objects.create(title="News", body="<b onclick='x()'>hi</b>")
    client.force_login(customer)
    pages = [
        reverse("support:tickets"),
        reverse("support:ticket_new"),
        reverse("support:ticket", args=[ticket.pk]),
        reverse("support:news"),
        reverse("support:notification_settings"),
        reverse("dashboard"),
        reverse("account"),
    ]
    for page in pages:
        response = client.get(page)
        html = response.content.decode()
        assert response.status_code == 200 and "<h1>" in html, page
        assert not INLINE_SCRIPT.search(html) and not HANDLER.search(html), page
    client.force_login(staff_user("support.handle_ticket"))
    for page in (reverse("support:staff_queue"), reverse("support:staff_ticket", args=[ticket.pk])):
        html = client.get(page).content.decode()
        assert "<h1>" in html and not INLINE_SCRIPT.search(html) and not HANDLER.search(html), page
