"""Content-Security-Policy: every page says scripts and styles come from our own files only,
and no template holds an inline script, a handler attribute or an inline style to be blocked."""

import re
from pathlib import Path

import pytest
from django.urls import clear_url_caches, reverse

from tests.orders.factories import ServiceFactory
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)
PAGES = ["dashboard", "new_order", "mass_order", "orders", "refills", "services", "account", "api_docs", "updates"]


def _directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def test_every_page_sends_a_policy_of_our_own_files_only(customer_client):
    ServiceFactory()
    for name in PAGES:
        directives = _directives(customer_client.get(reverse(name)))
        assert directives["script-src"] == "script-src 'self'", name
        assert directives["style-src"] == "style-src 'self'", name
        assert directives["default-src"] == "default-src 'self'"
        assert directives["object-src"] == "object-src 'none'"
        assert directives["frame-ancestors"] == "frame-ancestors 'none'"
        # A gateway's checkout form (Perfect Money) posts to its own HTTPS site.
        assert directives["form-action"] == "form-action 'self' https:"
        assert "unsafe-inline" not in str(directives) and "unsafe-eval" not in str(directives)


def test_the_admin_and_the_api_send_it_too(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert "script-src 'self'" in client.get(reverse("admin:index"))["Content-Security-Policy"]
    assert "script-src 'self'" in client.get(reverse("staff_dashboard"))["Content-Security-Policy"]


def test_no_template_holds_an_inline_script_a_handler_or_an_inline_style():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, HANDLER, STYLE_ATTRIBUTE):
            offenders += [f"{path.relative_to(TEMPLATES)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []


def test_rendered_pages_carry_only_data_blocks_besides_script_files(customer_client):
    ServiceFactory()
    for name in PAGES:
        html = customer_client.get(reverse(name)).content.decode()
        for tag in INLINE_SCRIPT.findall(html):
            # json_script's data block is never run, so the policy does not block it.
            assert 'type="application/json"' in tag, (name, tag)
        assert not HANDLER.search(html) and not STYLE_ATTRIBUTE.search(html), name


@pytest.fixture
def admin_at_office(settings):
    import importlib

    import panel.urls

    settings.ADMIN_URL = "office-7f3a/"
    importlib.reload(panel.urls)
    clear_url_caches()
    yield
    settings.ADMIN_URL = "admin/"
    importlib.reload(panel.urls)
    clear_url_caches()


def test_the_admin_lives_where_admin_url_says(client, admin_at_office):
    assert client.get("/office-7f3a/login/").status_code == 200
    assert client.get("/admin/login/").status_code == 404
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert 'href="/office-7f3a/"' in client.get("/").content.decode()
    assert client.get("/office-7f3a/dashboard/").status_code == 200
