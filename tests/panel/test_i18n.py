"""The customer side's languages: the browser's by default, the switcher's choice kept on the account,
right-to-left layouts, and /api/v2 words that stay English."""

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from orders.models import Order
from panel.models import User
from panel.services import api_key_rotate
from panel.tasks import password_reset_mail_task
from support.notifications import notifications_collect, notifications_send
from tests.orders.factories import ServiceFactory
from tests.panel.factories import UserFactory
from tests.support.factories import charged_order

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "password-for-tests"
COOKIE = settings.LANGUAGE_COOKIE_NAME


def _html_tag(response) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', response.content.decode())
    assert match, "the page has no <html lang dir>"
    return match.group(1), match.group(2)


def test_a_visitor_reads_the_pages_in_the_browsers_language(client):
    response = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9,en;q=0.5")
    assert _html_tag(response) == ("ru", "ltr")
    assert response["Content-Language"] == "ru"
    assert "<h1>Войти</h1>" in response.content.decode()


@pytest.mark.parametrize(
    ("header", "heading", "link"),
    [
        ("en", "<h1>Log in</h1>", "Forgot your password?"),
        ("zh-TW", "<h1>登入</h1>", "忘記密碼？"),
        ("ru", "<h1>Войти</h1>", "Забыли пароль?"),
        ("es-MX,es;q=0.8", "<h1>Iniciar sesión</h1>", "¿Olvidaste tu contraseña?"),
    ],
)
def test_the_login_page_speaks_each_shipped_language(client, header, heading, link):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=header).content.decode()
    assert heading in html and link in html


@pytest.mark.parametrize("header", ["zh-TW,zh;q=0.9", "zh-Hant", "zh-HK"])
def test_traditional_chinese_browsers_get_the_traditional_chinese_pages(client, header):
    assert _html_tag(client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=header)) == ("zh-hant", "ltr")


def test_a_browser_asking_for_no_shipped_language_gets_the_panels_language(client, settings):
    assert _html_tag(client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="fr-FR,fr"))[0] == "en"
    settings.LANGUAGE_CODE = "es"
    assert _html_tag(client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="fr-FR,fr"))[0] == "es"


def test_every_page_carries_the_switcher_as_a_plain_form_with_no_inline_script(customer_client):
    for response in (Client().get(reverse("login")), customer_client.get(reverse("dashboard"))):
        html = response.content.decode()
        form = re.search(r'<form method="post" action="/i18n/language/"[^>]*>(.*?)</form>', html, re.S)
        assert form, "no language form"
        options = re.findall(r'<option value="([^"]+)"', form.group(1))
        assert options == ["en", "zh-hant", "ru", "es"]
        assert '<select name="language"' in form.group(1) and "data-autosubmit" in form.group(1)
        assert 'name="csrfmiddlewaretoken"' in form.group(1)
        assert not re.search(r"\son[a-z]+=", html) and "<script>" not in html


def test_the_switcher_sets_the_language_for_a_visitor_and_goes_back(client):
    response = client.post(reverse("set_language"), {"language": "es", "next": "/login/?x=1"})
    assert response.status_code == 302 and response["Location"] == "/login/?x=1"
    assert response.cookies[COOKIE].value == "es"
    assert _html_tag(client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="ru"))[0] == "es"


def test_the_switcher_refuses_a_get_and_ignores_a_language_the_panel_does_not_ship(customer_client, customer):
    assert customer_client.get(reverse("set_language"), {"language": "es"}).status_code == 405
    response = customer_client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    assert response.status_code == 302 and COOKIE not in response.cookies
    customer_client.post(reverse("set_language"), {"language": "fr", "next": "/"})  # Django has French; we do not
    customer.refresh_from_db()
    assert customer.language == ""


def test_the_switcher_does_not_send_a_customer_to_another_site(client):
    response = client.post(reverse("set_language"), {"language": "ru", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_a_signed_in_customers_choice_is_kept_on_the_account_and_follows_them(customer_client, customer):
    customer_client.post(reverse("set_language"), {"language": "ru", "next": "/"})
    customer.refresh_from_db()
    assert customer.language == "ru"
    other_browser = Client(HTTP_ACCEPT_LANGUAGE="es")
    other_browser.force_login(customer)
    response = other_browser.get(reverse("dashboard"))
    assert _html_tag(response) == ("ru", "ltr")
    # The new browser's cookie follows the account, so the pages stay Russian after logging out.
    assert response.cookies[COOKIE].value == "ru"


def test_the_accounts_language_wins_over_the_browser_and_the_cookie(client):
    customer = UserFactory(language="zh-hant")
    client.force_login(customer)
    client.cookies[COOKIE] = "es"
    assert _html_tag(client.get(reverse("orders"), HTTP_ACCEPT_LANGUAGE="ru"))[0] == "zh-hant"


def test_logging_in_applies_the_accounts_language(client):
    customer = UserFactory(username="reader", language="es")
    response = client.post(reverse("login"), {"username": "reader", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 302
    assert response.cookies[COOKIE].value == "es"
    assert _html_tag(client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="ru"))[0] == "es"
    customer.refresh_from_db()
    assert customer.language == "es"


def test_an_account_without_a_language_keeps_the_one_its_owner_logged_in_with(client):
    customer = UserFactory(username="reader", language="")
    client.post(reverse("login"), {"username": "reader", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="zh-TW")
    customer.refresh_from_db()
    assert customer.language == "zh-hant"


def test_signing_up_keeps_the_language_of_the_signup_page(client):
    password = "a-long-enough-passphrase"
    client.cookies[COOKIE] = "es"
    client.post(
        reverse("signup"),
        {"username": "nuevo", "email": "nuevo@example.com", "password1": password, "password2": password},
    )
    assert User.objects.get(username="nuevo").language == "es"


@pytest.mark.parametrize(("language", "direction"), [("ar", "rtl"), ("ru", "ltr"), ("zh-hant", "ltr")])
def test_the_layout_turns_right_to_left_for_a_bidi_language(client, settings, language, direction):
    # An Arabic catalog added later only needs its LANGUAGES entry: Django knows Arabic is bidi.
    settings.LANGUAGES = [*settings.LANGUAGES, ("ar", "Arabic")]
    assert _html_tag(client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=language)) == (language, direction)


def test_a_bidi_accounts_pages_are_right_to_left(client, settings):
    settings.LANGUAGES = [*settings.LANGUAGES, ("ar", "Arabic")]
    customer = UserFactory(language="ar")
    client.force_login(customer)
    assert _html_tag(client.get(reverse("dashboard"))) == ("ar", "rtl")


def _stylesheets_of_the_layout() -> list[Path]:
    base = (ROOT / "templates" / "base.html").read_text()
    names = re.findall(r"""{% static ['"]([^'"]+\.css)['"] %}""", base)
    assert names, "the layout links no stylesheet"
    return [next(ROOT.glob(f"*/static/{name}")) for name in names]


STYLESHEETS = _stylesheets_of_the_layout()
PHYSICAL = re.compile(
    r"(?:margin|padding|border)-(?:left|right)\s*:|(?<![\w-])(?:left|right)\s*:|"
    r"text-align\s*:\s*(?:left|right)|float\s*:\s*(?:left|right)|clear\s*:\s*(?:left|right)|to (?:left|right)\b"
)


@pytest.mark.parametrize("path", STYLESHEETS, ids=lambda path: str(path.relative_to(ROOT)))
def test_stylesheets_place_things_by_logical_sides_so_rtl_mirrors_them(path):
    """Physical sides only in rules written for one direction ([dir="ltr"] or [dir="rtl"])."""
    css = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
    found = [
        f"{selector.strip()} {{{body.strip()}}}"
        for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)
        if PHYSICAL.search(body) and "[dir=" not in selector
    ]
    assert found == []


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"action": "add", "service": "999999", "link": "x", "quantity": "100"}, "Incorrect service ID"),
        ({"action": "add", "link": "x", "quantity": "100"}, "Incorrect request: service is required"),
        ({"action": "add", "service": "{sid}", "link": "x", "quantity": "10"}, "Quantity less than minimal 50"),
        ({"action": "add", "service": "{sid}", "link": "x", "quantity": "20000"}, "Quantity more than maximum 10000"),
        ({"action": "add", "service": "{sid}", "link": "x", "quantity": "9999"}, "Not enough funds on balance"),
        ({"action": "status", "order": "424242"}, "Incorrect order ID"),
        ({"action": "refill", "order": "424242"}, "Incorrect order ID"),
        ({"action": "refill_status", "refill": "424242"}, "Refill not found"),
        ({"action": "dance"}, "Incorrect request: unknown action"),
    ],
)
def test_api_errors_stay_english_for_a_russian_account_and_browser(fields, error):
    russian = UserFactory(balance="1", language="ru")
    key = api_key_rotate(user=russian)
    service = ServiceFactory(rate=Decimal("1"), min=50, max=10000)
    browser = Client(HTTP_ACCEPT_LANGUAGE="ru-RU,ru")
    browser.force_login(russian)  # a session and a language cookie change nothing either
    browser.cookies[COOKIE] = "ru"
    body = {"key": key, **{name: value.format(sid=service.pk) for name, value in fields.items()}}
    response = browser.post("/api/v2", body)
    assert response.status_code == 200
    assert response.content.decode() == json.dumps({"error": error}, separators=(",", ":"))
    assert response["Content-Language"] == "en"
    assert Order.objects.count() == 0


def test_api_refuses_a_wrong_key_in_english_whatever_the_browser_asks(client):
    response = client.post("/api/v2", {"key": "nope", "action": "balance"}, HTTP_ACCEPT_LANGUAGE="zh-TW")
    assert response.json() == {"error": "Invalid API key"}


def test_a_signed_in_customers_pages_and_messages_are_in_the_accounts_language(client):
    customer = UserFactory(language="es", balance="1")
    client.force_login(customer)
    html = client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="nav-orders"' in html and '<span class="label">Pedidos</span>' in html
    response = client.post(reverse("set_language"), {"language": "ru", "next": reverse("account")}, follow=True)
    assert "<h1>Аккаунт</h1>" in response.content.decode()


@pytest.mark.parametrize(
    ("account_language", "subject", "sentence"),
    [
        ("", "Restablece tu contraseña en SMM Panel", "Alguien pidió restablecer la contraseña de tu cuenta en SMM"),
        ("ru", "Сброс пароля на SMM Panel", "Кто-то запросил сброс пароля вашего аккаунта на SMM Panel."),
    ],
)
def test_the_password_reset_e_mail_is_in_the_accounts_language_else_the_pages(
    client, django_capture_on_commit_callbacks, monkeypatch, mailoutbox, account_language, subject, sentence
):
    UserFactory(email="lector@example.com", language=account_language)
    queued = []
    monkeypatch.setattr("panel.tasks.password_reset_mail_task.delay", lambda **kwargs: queued.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"email": "lector@example.com"}, HTTP_ACCEPT_LANGUAGE="es")
    [job] = queued
    assert job["language"] == "es"
    password_reset_mail_task(**job)  # on a worker, where no request says the language
    (message,) = mailoutbox
    assert message.subject == subject
    assert sentence in message.body


@pytest.mark.parametrize(
    ("language", "subject", "sentence"),
    [
        ("ru", "Заказ {id} выполнен", "Ваш заказ {id} ({service}) выполнен."),
        ("zh-hant", "訂單 {id} 已完成", "您的訂單 {id}（{service}）已完成。"),
        ("es", "Pedido {id} completado", "Tu pedido {id} ({service}) se completó."),
    ],
)
def test_notification_e_mails_are_written_in_the_accounts_language(mailoutbox, language, subject, sentence):
    customer = UserFactory(balance="10", language=language)
    order = charged_order(customer, status=Order.Status.COMPLETED)
    notifications_collect()
    notifications_send()
    words = {"id": order.pk, "service": order.service.name}
    (message,) = [m for m in mailoutbox if m.subject == subject.format(**words)]
    assert sentence.format(**words) in message.body


def test_the_website_words_a_refusal_in_the_accounts_language_where_the_api_keeps_the_protocols(client):
    russian = UserFactory(balance="5", language="ru")
    key = api_key_rotate(user=russian)
    service = ServiceFactory(rate=Decimal("1"), min=50, max=10000, refill=True)
    client.force_login(russian)
    order = {"service": service.pk, "link": "https://x.test/1", "quantity": "10"}
    html = client.post(reverse("new_order"), order).content.decode()
    assert re.search(r'id="error-quantity"[^>]*>\s*Минимум для этой услуги — 50\.\s*<', html)
    assert client.post("/api/v2", {"key": key, "action": "add", **order}).json() == {
        "error": "Quantity less than minimal 50"
    }
    placed = client.post(reverse("new_order"), {**order, "quantity": "100"}, follow=True)
    assert "Заказ" in placed.content.decode() and "принят: списано 0.10 USD." in placed.content.decode()
    pending = Order.objects.get()
    refused = client.post(reverse("order_refill", args=[pending.pk]), follow=True).content.decode()
    assert f"Заказ {pending.pk}: Заказ ещё не выполнен" in refused
    assert client.post("/api/v2", {"key": key, "action": "refill", "order": pending.pk}).json() == {
        "error": "The order is not completed"
    }


def test_the_order_pages_script_gets_its_words_in_the_accounts_language(client):
    client.force_login(UserFactory(language="es"))
    ServiceFactory()
    html = client.get(reverse("new_order")).content.decode()
    words = json.loads(re.search(r'<script id="order-words" type="application/json">(.*?)</script>', html).group(1))
    assert words["per1000"] == "por 1000" and words["limits"] == "Mín. %(min)s – máx. %(max)s"
