"""Announcements: staff publish safe Markdown, shown on the dashboard and the News page within their dates."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from support.models import Announcement
from support.rendering import markdown_render
from support.selectors import announcements_current
from tests.panel.factories import UserFactory
from tests.support.factories import staff_user

pytestmark = pytest.mark.django_db


def test_markdown_keeps_formatting_and_links_and_drops_scripts():
    html = markdown_render(
        "**New** [prices](https://example.com/p)\n\n"
        "<script>alert(1)</script><img src=x onerror=alert(2)>"
        "[click](javascript:alert(3)) <a href='https://e.com' onclick='x()'>e</a>"
    )
    assert "<strong>New</strong>" in html
    assert '<a href="https://example.com/p" rel="noopener noreferrer nofollow">prices</a>' in html
    for bad in ("<script", "alert(1)", "<img", "onerror", "javascript:", "onclick"):
        assert bad not in html


def test_only_published_announcements_within_their_dates_are_current():
    now = timezone.now()
    on = Announcement.objects.create(title="On", body="x")
    Announcement.objects.create(title="Draft", body="x", is_published=False)
    Announcement.objects.create(title="Later", body="x", starts_at=now + timedelta(days=1))
    Announcement.objects.create(title="Over", body="x", ends_at=now - timedelta(minutes=1))
    window = Announcement.objects.create(
        title="Window", body="x", starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=1)
    )
    assert {a.pk for a in announcements_current(now=now)} == {on.pk, window.pk}


def test_the_dashboard_and_the_news_page_show_current_announcements(client):
    Announcement.objects.create(title="Holiday hours", body="We answer **tickets** slower this week.")
    Announcement.objects.create(title="Hidden", body="x", is_published=False)
    client.force_login(UserFactory())
    for page in (reverse("dashboard"), reverse("support:news")):
        html = client.get(page).content.decode()
        assert "Holiday hours" in html and "<strong>tickets</strong>" in html
        assert "Hidden" not in html
    news = client.get(reverse("support:news")).content.decode()
    assert reverse("updates") in news and 'data-testid="nav-news"' in news


def test_the_news_page_is_for_logged_in_customers(client):
    response = client.get(reverse("support:news"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_staff_publish_in_the_admin_with_the_permission_and_are_refused_without_it(client):
    form = {"title": "New services", "body": "Hello *all*", "is_published": "on"}
    client.force_login(staff_user())
    assert client.post("/admin/support/announcement/add/", form).status_code == 403
    assert not Announcement.objects.exists()
    publisher = staff_user("support.add_announcement", "support.change_announcement", "support.view_announcement")
    client.force_login(publisher)
    response = client.post("/admin/support/announcement/add/", form)
    assert response.status_code == 302
    announcement = Announcement.objects.get()
    assert (announcement.title, announcement.created_by) == ("New services", publisher)


def test_an_announcement_cannot_end_before_it_starts(client):
    client.force_login(staff_user("support.add_announcement", "support.view_announcement"))
    now = timezone.now()
    response = client.post(
        "/admin/support/announcement/add/",
        {
            "title": "Backwards",
            "body": "x",
            "starts_at_0": now.strftime("%Y-%m-%d"),
            "starts_at_1": "12:00:00",
            "ends_at_0": (now - timedelta(days=1)).strftime("%Y-%m-%d"),
            "ends_at_1": "12:00:00",
        },
    )
    assert response.status_code == 200 and not Announcement.objects.exists()
    assert "An announcement must end after it starts." in response.content.decode()
