"""Images only, size-limited, kept outside the web root, shown only to the ticket's owner and staff."""

from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from support.attachments import MAX_ATTACHMENTS, AttachmentInvalid, attachment_clean
from support.models import Ticket, TicketAttachment
from support.services import ticket_open
from tests.panel.factories import UserFactory
from tests.support.factories import png_upload, staff_user

pytestmark = pytest.mark.django_db


def _ticket_with_image(user) -> tuple[Ticket, TicketAttachment]:
    ticket = ticket_open(user=user, subject_type="other", title="Look", body="see", files=[png_upload()])
    return ticket, TicketAttachment.objects.get()


def test_an_image_is_stored_under_the_private_root_with_a_random_name(private_media):
    _ticket, item = _ticket_with_image(UserFactory())
    path = Path(item.file.path)
    assert path.is_relative_to(private_media) and path.exists()
    assert not path.is_relative_to(Path(settings.STATIC_ROOT))
    assert path.name != "screen.png" and path.suffix == ".png"
    assert (item.name, item.content_type, item.width, item.height) == ("screen.png", "image/png", 40, 30)
    with pytest.raises(ValueError, match="no public URL"):
        item.file.url  # noqa: B018


def test_the_owner_and_ticket_staff_see_the_image_and_everyone_else_gets_404(client):
    owner = UserFactory()
    _ticket, item = _ticket_with_image(owner)
    url = reverse("support:attachment", args=[item.pk])
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "sandbox" in response["Content-Security-Policy"] and response["X-Content-Type-Options"] == "nosniff"
    assert Image.open(BytesIO(b"".join(response.streaming_content))).size == (40, 30)
    client.force_login(staff_user("support.handle_ticket"))
    assert client.get(url).status_code == 200
    for outsider in (UserFactory(), staff_user(), staff_user("orders.cancel_refund_order")):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302


def test_a_file_that_is_not_an_image_is_refused_whatever_its_name_says(client):
    customer = UserFactory()
    client.force_login(customer)
    fake = SimpleUploadedFile("cat.png", b"<html><script>alert(1)</script></html>", content_type="image/png")
    response = client.post(
        reverse("support:ticket_new"),
        {"subject_type": "other", "title": "t", "body": "b", "attachments": [fake]},
    )
    assert response.status_code == 200
    assert "cat.png is not a readable image." in response.content.decode()
    assert not Ticket.objects.exists()


def test_an_image_over_the_size_limit_is_refused(settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 100
    with pytest.raises(AttachmentInvalid, match=r"big\.png is larger than 0 KB"):
        attachment_clean(upload=png_upload("big.png", size=(200, 200)))


def test_a_declared_huge_canvas_is_refused_before_it_is_decoded(monkeypatch):
    monkeypatch.setattr("support.attachments.MAX_PIXELS", 1000)
    with pytest.raises(AttachmentInvalid, match=r"bomb\.png has too many pixels"):
        attachment_clean(upload=png_upload("bomb.png", size=(40, 30)))


def test_images_are_re_encoded_without_their_exif_data():
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # camera maker; GPS works the same way
    clean = attachment_clean(upload=png_upload("photo.jpg", image_format="JPEG", exif=exif.tobytes()))
    assert clean.content_type == "image/jpeg" and clean.name == "photo.jpg"
    assert b"SecretCam" not in clean.content
    assert Image.open(BytesIO(clean.content)).size == (40, 30)


def test_at_most_a_few_images_per_message():
    with pytest.raises(AttachmentInvalid, match=f"at most {MAX_ATTACHMENTS} images"):
        ticket_open(
            user=UserFactory(),
            subject_type="other",
            title="t",
            body="b",
            files=[png_upload(f"{i}.png") for i in range(MAX_ATTACHMENTS + 1)],
        )
    assert not Ticket.objects.exists()


def test_a_staff_answer_can_carry_an_image_the_customer_sees(client):
    owner = UserFactory()
    ticket = ticket_open(user=owner, subject_type="other", title="t", body="b")
    handler = staff_user("support.handle_ticket")
    client.force_login(handler)
    client.post(reverse("support:staff_ticket", args=[ticket.pk]), {"body": "Here", "attachments": [png_upload()]})
    item = TicketAttachment.objects.get()
    assert item.message.from_staff
    client.force_login(owner)
    page = client.get(reverse("support:ticket", args=[ticket.pk])).content.decode()
    assert reverse("support:attachment", args=[item.pk]) in page
    assert client.get(reverse("support:attachment", args=[item.pk])).status_code == 200
