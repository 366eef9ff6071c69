"""Affiliates end to end: the referral link and its cookie, signups attributed, commissions on deposits (exact and
once), the affiliate balance moved to the main one or paid out by staff, and deposit reversals."""

import re
import time
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.core import signing
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client, RequestFactory
from django.urls import reverse

from billing.errors import (
    AffiliateError,
    AffiliateInsufficientFunds,
    AffiliatePayoutDecided,
    DepositReverseRefused,
    FundsRequestDecided,
    ReferralRefused,
)
from billing.gateways import PaymentState
from billing.models import AffiliateAccount, AffiliateEntry, AffiliatePayout, FundsRequest, LedgerEntry, PaymentMethod
from billing.selectors import ledger_link, ledger_mismatches
from billing.services import (
    REFERRAL_CODE_ALPHABET,
    REFERRAL_CODE_LENGTH,
    affiliate_account_get,
    affiliate_payout_approve,
    affiliate_payout_reject,
    affiliate_payout_request,
    affiliate_referrer_set,
    affiliate_transfer,
    balance_adjust,
    balance_credit,
    balance_debit,
    deposit_reverse,
    deposit_settle,
    funds_request_approve,
    funds_request_create,
)
from billing.views import REFERRAL_COOKIE, REFERRAL_COOKIE_SALT
from panel.models import User
from tests.panel.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase"
E = AffiliateEntry.Kind


@pytest.fixture
def bank():
    return PaymentMethod.objects.create(name="Bank transfer", min_amount=Decimal("0.00001"))


@pytest.fixture
def referrer():
    return UserFactory(username="referrer")


@pytest.fixture
def referred(referrer):
    customer = UserFactory(username="referred")
    affiliate_referrer_set(user_id=customer.pk, code=affiliate_account_get(user_id=referrer.pk).code)
    return customer


def deposit(user, method, amount) -> FundsRequest:
    funds = funds_request_create(user_id=user.pk, method_id=method.pk, amount=Decimal(amount))
    return funds_request_approve(funds_request_id=funds.pk)


def affiliate_balance(user) -> Decimal:
    return AffiliateAccount.objects.get(pk=user.pk).balance


def balance(user) -> Decimal:
    return User.objects.get(pk=user.pk).balance


def signup(client: Client, username: str = "newbie"):
    return client.post(
        reverse("signup"),
        {"username": username, "email": f"{username}@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )


def customer_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# The referral link.


def test_every_customer_gets_one_random_unguessable_code():
    first, second = UserFactory(), UserFactory()
    code = affiliate_account_get(user_id=first.pk).code
    assert affiliate_account_get(user_id=first.pk).code == code
    assert affiliate_account_get(user_id=second.pk).code != code
    assert len(code) == REFERRAL_CODE_LENGTH and set(code) <= set(REFERRAL_CODE_ALPHABET)


def test_the_affiliates_page_shows_the_link_made_on_first_visit(referrer):
    page = customer_client(referrer).get(reverse("affiliates"))
    code = AffiliateAccount.objects.get(pk=referrer.pk).code
    assert page.status_code == 200
    assert f"http://testserver/r/{code}</p>" in page.text
    assert 'data-testid="nav-affiliates"' in page.text


def test_the_affiliates_page_has_no_inline_script_or_event_handler(referred, referrer, bank):
    deposit(referred, bank, "300")
    affiliate_payout_request(user_id=referrer.pk, amount=Decimal("10"), details="wallet T1")
    html = customer_client(referrer).get(reverse("affiliates")).text
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert re.findall(r"<[^>]+\son[a-z]+\s*=", html) == []


def test_a_visit_is_counted_once_per_visitor_and_remembered_in_a_signed_cookie(referrer):
    code = affiliate_account_get(user_id=referrer.pk).code
    visitor = Client()
    response = visitor.get(f"/r/{code}")
    assert response.status_code == 302 and response.url == reverse("signup")
    cookie = response.cookies[REFERRAL_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["max-age"] == 30 * 86400
    request = RequestFactory().get("/")
    request.COOKIES[REFERRAL_COOKIE] = cookie.value
    assert cookie.value != code and request.get_signed_cookie(REFERRAL_COOKIE, salt=REFERRAL_COOKIE_SALT) == code
    visitor.get(f"/r/{code}/")
    assert AffiliateAccount.objects.get(pk=referrer.pk).visits == 1
    Client().get(f"/r/{code}")
    assert AffiliateAccount.objects.get(pk=referrer.pk).visits == 2


def test_a_flood_of_visits_writes_no_rows_only_the_counter(referrer, django_assert_num_queries):
    code = affiliate_account_get(user_id=referrer.pk).code
    with django_assert_num_queries(1):
        Client().get(f"/r/{code}")
    for _ in range(20):
        Client().get(f"/r/{code}")
    assert AffiliateAccount.objects.get(pk=referrer.pk).visits == 21
    assert AffiliateAccount.objects.count() == 1 and not AffiliateEntry.objects.exists()


def test_an_unknown_code_leads_to_signup_and_sets_nothing(referrer):
    response = Client().get("/r/nosuchcode")
    assert response.url == reverse("signup") and REFERRAL_COOKIE not in response.cookies


def test_a_signed_in_customer_following_their_own_link_is_neither_counted_nor_marked(referrer):
    code = affiliate_account_get(user_id=referrer.pk).code
    response = customer_client(referrer).get(f"/r/{code}")
    assert response.url == reverse("dashboard") and REFERRAL_COOKIE not in response.cookies
    assert AffiliateAccount.objects.get(pk=referrer.pk).visits == 0


# Signups.


def test_signing_up_through_the_link_attributes_the_customer_to_the_referrer(referrer):
    code = affiliate_account_get(user_id=referrer.pk).code
    visitor = Client()
    visitor.get(f"/r/{code}")
    assert signup(visitor).url == reverse("dashboard")
    newbie = User.objects.get(username="newbie")
    account = AffiliateAccount.objects.get(pk=newbie.pk)
    assert account.referred_by_id == referrer.pk and account.referred_at is not None
    assert account.code and account.code != code
    page = customer_client(referrer).get(reverse("affiliates"))
    assert page.context["summary"].signups == 1


def test_a_signup_without_the_link_opens_an_account_with_no_referrer():
    assert signup(Client()).status_code == 302
    account = AffiliateAccount.objects.get(user__username="newbie")
    assert account.referred_by is None


def test_a_signup_after_the_cookie_days_is_not_attributed(referrer, settings):
    settings.AFFILIATE_COOKIE_DAYS = 7
    code = affiliate_account_get(user_id=referrer.pk).code
    eight_days_ago = signing.b62_encode(int(time.time()) - 8 * 86400)
    visitor = Client()
    with mock.patch.object(signing.TimestampSigner, "timestamp", lambda self: eight_days_ago):
        visitor.get(f"/r/{code}")
    assert REFERRAL_COOKIE in visitor.cookies
    assert signup(visitor).status_code == 302
    assert AffiliateAccount.objects.get(user__username="newbie").referred_by is None


def test_a_forged_cookie_is_ignored(referrer):
    visitor = Client()
    visitor.cookies[REFERRAL_COOKIE] = affiliate_account_get(user_id=referrer.pk).code
    signup(visitor)
    assert AffiliateAccount.objects.get(user__username="newbie").referred_by is None


def test_a_customer_cannot_refer_themselves(referrer):
    code = affiliate_account_get(user_id=referrer.pk).code
    with pytest.raises(ReferralRefused, match="cannot refer themselves"):
        affiliate_referrer_set(user_id=referrer.pk, code=code)
    assert AffiliateAccount.objects.get(pk=referrer.pk).referred_by is None


def test_the_database_refuses_a_self_referral_too(referrer):
    affiliate_account_get(user_id=referrer.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        AffiliateAccount.objects.filter(pk=referrer.pk).update(referred_by=referrer.pk)


def test_a_referrer_once_set_never_changes(referrer, referred):
    other = affiliate_account_get(user_id=UserFactory().pk)
    User.objects.filter(pk=other.pk).update(date_joined=referrer.date_joined)  # joined before `referred`
    with pytest.raises(ReferralRefused, match="already has a referrer"):
        affiliate_referrer_set(user_id=referred.pk, code=other.code)
    assert AffiliateAccount.objects.get(pk=referred.pk).referred_by_id == referrer.pk


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown", "Unknown referral code"),
        ("suspended", "suspended"),
        ("joined_later", "joined after"),
    ],
)
def test_a_referral_is_refused_and_changes_nothing(case, message):
    early = UserFactory()
    later = UserFactory()
    code = affiliate_account_get(user_id=later.pk if case == "joined_later" else UserFactory(is_active=False).pk).code
    if case == "unknown":
        code = "nosuchcode"
    customer = early if case == "joined_later" else later
    with pytest.raises(ReferralRefused, match=message):
        affiliate_referrer_set(user_id=customer.pk, code=code)
    assert AffiliateAccount.objects.get(pk=customer.pk).referred_by is None


def test_staff_see_the_referrer_in_the_user_admin(referrer, referred):
    admin = UserFactory(is_staff=True, is_superuser=True)
    page = customer_client(admin).get(reverse("admin:panel_user_change", args=[referred.pk])).text
    assert "Referred by" in page
    assert f'<a href="{reverse("admin:panel_user_change", args=[referrer.pk])}">referrer</a>' in page


# Commissions.


def test_a_deposit_earns_the_referrer_the_commission_on_what_was_credited_not_on_the_bonus(referrer, referred):
    method = PaymentMethod.objects.create(name="Card", fee_percent=Decimal("3"), bonus_percent=Decimal("10"))
    funds = deposit(referred, method, "100")
    assert (funds.credited_amount, funds.bonus_amount) == (Decimal("97"), Decimal("9.7"))
    entry = AffiliateEntry.objects.get()
    assert (entry.account_id, entry.kind, entry.amount, entry.balance_after, entry.reference) == (
        referrer.pk,
        E.COMMISSION,
        Decimal("4.85"),
        Decimal("4.85"),
        f"funds:{funds.pk}",
    )
    assert affiliate_balance(referrer) == Decimal("4.85")
    # Kept apart from the main balance until moved.
    assert balance(referrer) == 0 and not LedgerEntry.objects.filter(user=referrer).exists()
    assert ledger_mismatches() == []


def test_the_commission_is_rounded_once_with_the_money_rounding(referrer, referred, bank):
    deposit(referred, bank, "33.33333")
    assert AffiliateEntry.objects.get().amount == Decimal("1.66667")  # 1.6666665, half up


def test_a_referrers_own_percent_wins_over_the_setting(referrer, referred, bank, settings):
    settings.AFFILIATE_COMMISSION_PERCENT = Decimal("5")
    AffiliateAccount.objects.filter(pk=referrer.pk).update(commission_percent=Decimal("12.5"))
    deposit(referred, bank, "80")
    assert affiliate_balance(referrer) == Decimal("10")


def test_the_setting_sets_the_percent(referrer, referred, bank, settings):
    settings.AFFILIATE_COMMISSION_PERCENT = Decimal("7")
    deposit(referred, bank, "50")
    assert affiliate_balance(referrer) == Decimal("3.5")


def test_a_zero_percent_or_a_commission_that_rounds_to_nothing_writes_no_row(referrer, referred, bank, settings):
    deposit(referred, bank, "0.00009")  # 5% is 0.0000045: rounds to nothing
    settings.AFFILIATE_COMMISSION_PERCENT = Decimal("0")
    deposit(referred, bank, "100")
    assert not AffiliateEntry.objects.exists() and affiliate_balance(referrer) == 0


def test_one_deposit_earns_one_commission_however_often_it_is_settled(referrer, referred, bank):
    funds = funds_request_create(user_id=referred.pk, method_id=bank.pk, amount=Decimal("40"))
    paid = PaymentState(reference="", outcome="paid", gateway_status="paid", paid_amount=Decimal("40"))
    deposit_settle(deposit_id=funds.pk, state=paid)
    assert deposit_settle(deposit_id=funds.pk, state=paid).final
    with pytest.raises(FundsRequestDecided):
        funds_request_approve(funds_request_id=funds.pk)
    assert AffiliateEntry.objects.filter(reference=f"funds:{funds.pk}").count() == 1
    assert affiliate_balance(referrer) == Decimal("2")


def test_the_database_refuses_a_second_commission_for_one_deposit(referrer, referred, bank):
    funds = deposit(referred, bank, "40")
    with pytest.raises(IntegrityError), transaction.atomic():
        AffiliateEntry.objects.create(
            account_id=referrer.pk,
            kind=E.COMMISSION,
            amount=Decimal("2"),
            balance_after=Decimal("4"),
            reference=f"funds:{funds.pk}",
        )


def test_bonuses_refunds_and_operator_credits_earn_nothing(referrer, referred):
    balance_credit(user_id=referred.pk, amount=Decimal("50"), kind=LedgerEntry.Kind.BONUS, reference="promo:1")
    balance_credit(user_id=referred.pk, amount=Decimal("5"), kind=LedgerEntry.Kind.REFUND, reference="order:1:refund")
    balance_adjust(user_id=referred.pk, amount=Decimal("20"), memo="goodwill")
    assert not AffiliateEntry.objects.exists()


def test_a_customer_without_a_referrer_earns_nobody_anything(bank):
    deposit(UserFactory(), bank, "100")
    assert not AffiliateEntry.objects.exists()


# Moving earnings to the main balance.


@pytest.fixture
def earned_50(referrer, referred, bank):
    """The referrer has 50 on their affiliate balance (5% of 1000)."""
    deposit(referred, bank, "1000")
    assert affiliate_balance(referrer) == Decimal("50")
    return referrer


def test_moving_earnings_debits_the_affiliate_balance_and_credits_the_main_one_together(earned_50):
    entry = affiliate_transfer(user_id=earned_50.pk, amount=Decimal("20"))
    assert (entry.kind, entry.amount, entry.balance_after) == (LedgerEntry.Kind.AFFILIATE, Decimal("20"), Decimal("20"))
    side = AffiliateEntry.objects.get(kind=E.TRANSFER)
    assert (side.amount, side.balance_after, side.reference) == (Decimal("-20"), Decimal("30"), entry.reference)
    assert (balance(earned_50), affiliate_balance(earned_50)) == (Decimal("20"), Decimal("30"))
    assert ledger_link(entry.reference) == ("Affiliates", reverse("affiliates"))
    assert ledger_mismatches() == []


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("9.99", "The minimum is 10.00 USD"),
        ("50.00001", "Not enough on your affiliate balance: 50.00 available"),
        ("0", "above zero"),
        ("10.000001", "more decimal places"),
    ],
)
def test_a_transfer_or_payout_outside_the_bounds_is_refused_and_changes_nothing(earned_50, amount, message):
    with pytest.raises(AffiliateError, match=message):
        affiliate_transfer(user_id=earned_50.pk, amount=Decimal(amount))
    with pytest.raises(AffiliateError, match=message):
        affiliate_payout_request(user_id=earned_50.pk, amount=Decimal(amount), details="wallet T1")
    assert (balance(earned_50), affiliate_balance(earned_50)) == (0, Decimal("50"))
    assert not AffiliatePayout.objects.exists()
    assert AffiliateEntry.objects.count() == 1 and ledger_mismatches() == []


def test_the_minimum_is_the_operators_setting(earned_50, settings):
    settings.AFFILIATE_MIN_PAYOUT = Decimal("25")
    with pytest.raises(AffiliateError, match=r"The minimum is 25\.00"):
        affiliate_transfer(user_id=earned_50.pk, amount=Decimal("24"))
    affiliate_transfer(user_id=earned_50.pk, amount=Decimal("25"))
    assert affiliate_balance(earned_50) == Decimal("25")


def test_the_page_moves_earnings_and_shows_a_refusal_beside_the_amount(earned_50):
    client = customer_client(earned_50)
    response = client.post(reverse("affiliates_transfer"), {"amount": "60"})
    assert response.status_code == 200
    assert "Not enough on your affiliate balance" in response.context["transfer_form"].errors["amount"][0]
    response = client.post(reverse("affiliates_transfer"), {"amount": "abc"})
    assert response.status_code == 200 and response.context["transfer_form"].errors["amount"]
    response = client.post(reverse("affiliates_transfer"), {"amount": "50"}, follow=True)
    assert response.redirect_chain == [(reverse("affiliates"), 302)]
    assert "50.00 USD moved to your balance." in response.text
    assert (balance(earned_50), affiliate_balance(earned_50)) == (Decimal("50"), 0)


def test_the_affiliate_pages_need_a_signed_in_customer():
    for name in ("affiliates", "affiliates_transfer", "affiliates_payout"):
        response = Client().post(reverse(name), {"amount": "10"})
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert AffiliateAccount.objects.count() == 0


# Manual payouts.


def test_a_payout_request_holds_the_amount_until_staff_approve_it(earned_50):
    staff = UserFactory(is_staff=True)
    payout = affiliate_payout_request(user_id=earned_50.pk, amount=Decimal("20"), details="  USDT  TRC20 T9zz ")
    assert (payout.status, payout.details) == (AffiliatePayout.Status.PENDING, "USDT TRC20 T9zz")
    held = AffiliateEntry.objects.get(kind=E.PAYOUT)
    assert (held.amount, held.balance_after, held.reference) == (Decimal("-20"), Decimal("30"), f"payout:{payout.pk}")
    payout = affiliate_payout_approve(payout_id=payout.pk, staff_id=staff.pk)
    assert (payout.status, payout.reviewed_by) == (AffiliatePayout.Status.APPROVED, staff)
    assert (affiliate_balance(earned_50), balance(earned_50)) == (Decimal("30"), 0)
    with pytest.raises(AffiliatePayoutDecided, match="already decided"):
        affiliate_payout_reject(payout_id=payout.pk, staff_id=staff.pk)
    assert affiliate_balance(earned_50) == Decimal("30") and ledger_mismatches() == []


def test_a_rejected_payout_returns_the_amount_once(earned_50):
    staff = UserFactory(is_staff=True)
    payout = affiliate_payout_request(user_id=earned_50.pk, amount=Decimal("50"), details="bank IBAN XX")
    assert affiliate_balance(earned_50) == 0
    affiliate_payout_reject(payout_id=payout.pk, staff_id=staff.pk, note="wrong IBAN")
    with pytest.raises(AffiliatePayoutDecided):
        affiliate_payout_reject(payout_id=payout.pk, staff_id=staff.pk)
    with pytest.raises(AffiliatePayoutDecided):
        affiliate_payout_approve(payout_id=payout.pk, staff_id=staff.pk)
    returned = AffiliateEntry.objects.get(kind=E.PAYOUT_RETURN)
    assert (returned.amount, returned.balance_after, returned.created_by) == (Decimal("50"), Decimal("50"), staff)
    assert AffiliatePayout.objects.get().review_note == "wrong IBAN"
    assert affiliate_balance(earned_50) == Decimal("50") and ledger_mismatches() == []


def test_a_payout_needs_details(earned_50):
    with pytest.raises(AffiliateError, match="where to send"):
        affiliate_payout_request(user_id=earned_50.pk, amount=Decimal("10"), details="   ")
    assert not AffiliatePayout.objects.exists()


def test_the_page_requests_a_payout_and_lists_it(earned_50):
    client = customer_client(earned_50)
    response = client.post(reverse("affiliates_payout"), {"amount": "15", "details": "USDT T1"}, follow=True)
    assert "Payout request" in response.text and "are held until staff pay it" in response.text
    summary = response.context["summary"]
    assert (summary.pending_payouts, summary.paid_out, response.context["balance"]) == (Decimal("15"), 0, "35.00")
    assert response.text.count('data-testid="affiliate-payout-row"') == 1
    response = client.post(reverse("affiliates_payout"), {"amount": "15"})
    assert response.context["payout_form"].errors["details"]


def test_the_page_adds_up_visits_signups_conversions_earnings_and_payouts(referrer, referred, bank):
    code = affiliate_account_get(user_id=referrer.pk).code
    Client().get(f"/r/{code}")
    idle = UserFactory()
    affiliate_referrer_set(user_id=idle.pk, code=code)
    deposit(referred, bank, "200")
    deposit(referred, bank, "200")
    affiliate_transfer(user_id=referrer.pk, amount=Decimal("10"))
    payout = affiliate_payout_request(user_id=referrer.pk, amount=Decimal("10"), details="T1")
    affiliate_payout_approve(payout_id=payout.pk, staff_id=UserFactory(is_staff=True).pk)
    page = customer_client(referrer).get(reverse("affiliates"))
    summary = page.context["summary"]
    assert (summary.visits, summary.signups, summary.conversions) == (1, 2, 1)
    assert (summary.earned, summary.transferred, summary.paid_out, summary.pending_payouts) == (
        Decimal("20"),
        Decimal("10"),
        Decimal("10"),
        0,
    )
    assert page.context["balance"] == "0.00"
    assert 'id="affiliate-earned" data-testid="affiliate-earned">20.00<' in page.text


# Reversals.


def test_reversing_a_deposit_takes_back_its_credit_bonus_and_commission_at_once(referrer, referred):
    method = PaymentMethod.objects.create(name="Card", bonus_percent=Decimal("10"))
    funds = deposit(referred, method, "100")
    staff = UserFactory(is_staff=True)
    deposit_reverse(deposit_id=funds.pk, staff_id=staff.pk, note="chargeback 77")
    funds.refresh_from_db()
    assert funds.status == FundsRequest.Status.REVERSED and funds.is_final
    reversal = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REVERSAL)
    assert (reversal.amount, reversal.balance_after, reversal.reference, reversal.created_by) == (
        Decimal("-110"),
        0,
        f"funds:{funds.pk}",
        staff,
    )
    taken = AffiliateEntry.objects.get(kind=E.REVERSAL)
    assert (taken.amount, taken.balance_after) == (Decimal("-5"), 0)
    assert (balance(referred), affiliate_balance(referrer)) == (0, 0)
    assert ledger_mismatches() == []


def test_a_deposit_is_reversed_once_and_a_late_payment_notice_does_not_credit_it_again(referrer, referred, bank):
    funds = deposit(referred, bank, "100")
    staff = UserFactory(is_staff=True)
    deposit_reverse(deposit_id=funds.pk, staff_id=staff.pk)
    with pytest.raises(FundsRequestDecided, match="only a credited deposit"):
        deposit_reverse(deposit_id=funds.pk, staff_id=staff.pk)
    paid = PaymentState(reference="", outcome="paid", gateway_status="paid", paid_amount=Decimal("100"))
    assert deposit_settle(deposit_id=funds.pk, state=paid).final
    with pytest.raises(FundsRequestDecided):
        funds_request_approve(funds_request_id=funds.pk)
    assert (balance(referred), affiliate_balance(referrer)) == (0, 0)
    assert LedgerEntry.objects.filter(user=referred).count() == 2 and AffiliateEntry.objects.count() == 2


def test_a_reversal_that_would_overdraw_the_customer_is_refused_and_changes_nothing(referrer, referred, bank):
    funds = deposit(referred, bank, "100")
    balance_debit(user_id=referred.pk, amount=Decimal("30"), reference="order:1")
    with pytest.raises(
        DepositReverseRefused, match=r"referred has 70.00 left, less than the 100.00 it credited \(with its bonus\)"
    ):
        deposit_reverse(deposit_id=funds.pk, staff_id=UserFactory(is_staff=True).pk)
    assert FundsRequest.objects.get(pk=funds.pk).status == FundsRequest.Status.APPROVED
    assert (balance(referred), affiliate_balance(referrer)) == (Decimal("70"), Decimal("5"))
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).exists()


def test_a_reversal_whose_commission_was_already_moved_out_is_refused_and_changes_nothing(referrer, referred, bank):
    funds = deposit(referred, bank, "1000")
    affiliate_transfer(user_id=referrer.pk, amount=Decimal("48"))
    with pytest.raises(
        DepositReverseRefused, match=r"has 2\.00 of affiliate balance left, less than the 50\.00 commission"
    ):
        deposit_reverse(deposit_id=funds.pk, staff_id=UserFactory(is_staff=True).pk)
    assert FundsRequest.objects.get(pk=funds.pk).status == FundsRequest.Status.APPROVED
    assert (balance(referred), affiliate_balance(referrer)) == (Decimal("1000"), Decimal("2"))
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REVERSAL).exists()
    assert not AffiliateEntry.objects.filter(kind=E.REVERSAL).exists()


def test_a_pending_deposit_cannot_be_reversed(bank):
    funds = funds_request_create(user_id=UserFactory().pk, method_id=bank.pk, amount=Decimal("10"))
    with pytest.raises(FundsRequestDecided, match="waiting for payment: only a credited deposit"):
        deposit_reverse(deposit_id=funds.pk, staff_id=UserFactory(is_staff=True).pk)


def test_reversing_from_the_admin_reports_a_refusal_to_the_operator(referrer, referred, bank):
    funds = deposit(referred, bank, "100")
    balance_debit(user_id=referred.pk, amount=Decimal("30"), reference="order:1")
    admin = customer_client(UserFactory(is_staff=True, is_superuser=True))
    response = admin.post(
        reverse("admin:billing_fundsrequest_changelist"),
        {"action": "reverse", "_selected_action": [funds.pk]},
        follow=True,
    )
    assert "less than the 100.00 it credited" in response.text
    assert FundsRequest.objects.get(pk=funds.pk).status == FundsRequest.Status.APPROVED


# The ledger check covers both accounts.


def test_verify_ledger_checks_the_affiliate_balances_too(earned_50):
    assert ledger_mismatches() == []
    AffiliateAccount.objects.filter(pk=earned_50.pk).update(balance=Decimal("51"))
    assert ledger_mismatches() == [(earned_50.pk, "referrer (affiliate)", Decimal("51"), Decimal("50"))]
    with pytest.raises(CommandError, match="1 balance"):
        call_command("verify_ledger", stdout=StringIO(), stderr=StringIO())


def test_the_database_refuses_a_negative_affiliate_balance_or_a_wrong_sign(earned_50):
    with pytest.raises(IntegrityError), transaction.atomic():
        AffiliateAccount.objects.filter(pk=earned_50.pk).update(balance=Decimal("-1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        AffiliateEntry.objects.create(
            account_id=earned_50.pk, kind=E.COMMISSION, amount=Decimal("-1"), balance_after=Decimal("49")
        )
    with pytest.raises(AffiliateInsufficientFunds):
        affiliate_transfer(user_id=earned_50.pk, amount=Decimal("50.00001"))
