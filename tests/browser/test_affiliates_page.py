"""The affiliates journey in headless Chromium: a visitor follows a referral link, signs up, deposits, and the
referrer's Affiliates page shows it and moves the commission to their balance."""

from decimal import Decimal

import pytest

from billing.models import AffiliateAccount, PaymentMethod
from billing.services import funds_request_approve, funds_request_create
from panel.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-password-42"


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#balance")


def test_a_referral_signs_up_through_the_link_and_the_referrer_moves_the_commission(live_server, chromium, screenshot):
    base = live_server.url
    User.objects.create_user("referrer", "referrer@example.com", PASSWORD)
    errors: list[str] = []

    referrer_page = chromium.new_context().new_page()
    referrer_page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(referrer_page, base, "referrer")
    referrer_page.click("[data-testid=nav-affiliates]")
    link = referrer_page.inner_text("#affiliate-link")
    assert link.startswith(f"{base}/r/")

    # A visitor, in a browser of their own, follows the link and signs up.
    visitor = chromium.new_context().new_page()
    visitor.on("pageerror", lambda error: errors.append(str(error)))
    visitor.goto(link)
    assert visitor.url == f"{base}/signup/"
    visitor.fill("input[name=username]", "newbie")
    visitor.fill("input[name=email]", "newbie@example.com")
    visitor.fill("input[name=password1]", PASSWORD)
    visitor.fill("input[name=password2]", PASSWORD)
    visitor.click("#signup-submit")
    visitor.wait_for_selector("#balance")
    newbie = User.objects.get(username="newbie")
    assert AffiliateAccount.objects.get(pk=newbie.pk).referred_by.user.username == "referrer"

    # The referral deposits 400: the referrer earns 5%.
    bank = PaymentMethod.objects.create(name="Bank")
    funds = funds_request_create(user_id=newbie.pk, method_id=bank.pk, amount=Decimal("400"))
    funds_request_approve(funds_request_id=funds.pk)

    referrer_page.reload()
    assert referrer_page.inner_text("#affiliate-visits") == "1"
    assert referrer_page.inner_text("#affiliate-signups") == "1"
    assert referrer_page.inner_text("#affiliate-conversions") == "1"
    assert referrer_page.inner_text("#affiliate-earned") == "20.00"
    screenshot(referrer_page, "40-affiliates")
    referrer_page.fill("#affiliate-transfer-form input[name=amount]", "20")
    referrer_page.click("#affiliate-transfer-submit")
    referrer_page.wait_for_selector("[data-testid=message]")
    assert referrer_page.inner_text("#affiliate-balance") == "0.00"
    assert referrer_page.inner_text("#nav-balance-amount") == "20.00"
    screenshot(referrer_page, "41-affiliates-moved")
    assert errors == []
