"""The only code that moves money: `balance_credit_many` (and its one-row form) and `balance_debit`.

A credit locks the customers' rows (SELECT ... FOR UPDATE, in primary-key order so that two
callers can never deadlock), computes the new balances and writes them with their ledger rows
in one transaction. A debit is one conditional `UPDATE ... SET balance = balance - amount
WHERE balance >= amount RETURNING balance`: the row lock and the check in one statement, so
two workers can never both spend the same cent. The database's check constraint on the
balance stands behind both.
"""

import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext

from billing.errors import (
    AffiliateError,
    AffiliateInsufficientFunds,
    AffiliatePayoutDecided,
    DepositReverseRefused,
    FundsRequestDecided,
    FundsRequestInvalid,
    GatewayError,
    GatewayNotConfigured,
    InsufficientFunds,
    InvalidAmount,
    ReferralRefused,
    WebhookRejected,
)
from billing.gateways import DepositUrls, Notification, PaymentState, Redirect, gateway_for
from billing.models import (
    AffiliateAccount,
    AffiliateEntry,
    AffiliatePayout,
    DepositBonusTier,
    FundsRequest,
    LedgerEntry,
    PaymentMethod,
    WebhookLog,
)
from core.errors import PanelError
from core.money import MONEY_QUANTUM, money_display, money_round, money_str

Kind = LedgerEntry.Kind
CREDIT_KINDS = {Kind.DEPOSIT, Kind.BONUS, Kind.REFUND, Kind.ADJUSTMENT, Kind.AFFILIATE}
DEBIT_KINDS = {Kind.CHARGE, Kind.ADJUSTMENT, Kind.REVERSAL}
# The balance column's digits: a credit past it would fail in the database as a 500.
BALANCE_LIMIT = Decimal(10) ** (settings.MONEY_MAX_DIGITS - settings.MONEY_DECIMAL_PLACES)


@dataclass(frozen=True)
class Credit:
    user_id: int
    amount: Decimal
    kind: str = Kind.REFUND
    reference: str = ""
    memo: str = ""
    created_by_id: int | None = None


def balance_credit(
    *,
    user_id: int,
    amount: Decimal,
    kind: str = Kind.DEPOSIT,
    reference: str = "",
    memo: str = "",
    created_by_id: int | None = None,
) -> LedgerEntry:
    """Add `amount` to a balance. With a reference, a repeat returns the first row unchanged."""
    credit = Credit(
        user_id=user_id, amount=amount, kind=kind, reference=reference, memo=memo, created_by_id=created_by_id
    )
    return balance_credit_many(credits=[credit])[0]


def balance_credit_many(*, credits: Sequence[Credit]) -> list[LedgerEntry]:
    """Credit many balances in one transaction and a constant number of queries (a poll cycle's refunds).

    Returns one ledger row per credit, in order. A credit whose (kind, reference) was already
    written, before or earlier in the same call, returns that first row and changes nothing:
    retrying a refund is safe.
    """
    for credit in credits:
        if credit.kind not in CREDIT_KINDS:
            raise ValueError(f"{credit.kind} is not a credit")
        _positive(credit.amount)
    if not credits:
        return []
    User = get_user_model()
    with transaction.atomic(savepoint=False):
        user_ids = sorted({credit.user_id for credit in credits})
        balances = dict(
            User.objects.select_for_update().filter(pk__in=user_ids).order_by("pk").values_list("pk", "balance")
        )
        if len(balances) != len(user_ids):
            raise User.DoesNotExist(f"unknown user in {user_ids}")
        # Checked under the customers' locks, so a concurrent retry of the same refund waits
        # for the first and then finds its row.
        references = {credit.reference for credit in credits if credit.reference}
        # With the kinds too, the lookup is a scan of the unique (kind, reference) index, not of the ledger.
        kinds = {credit.kind for credit in credits if credit.reference}
        existing = LedgerEntry.objects.filter(kind__in=kinds, reference__in=references) if references else []
        written = {(entry.kind, entry.reference): entry for entry in existing}
        results: list[LedgerEntry] = []
        new_entries: list[LedgerEntry] = []
        overflow = False
        for credit in credits:
            key = (credit.kind, credit.reference)
            if credit.reference and key in written:
                results.append(written[key])
                continue
            balances[credit.user_id] += credit.amount
            if balances[credit.user_id] >= BALANCE_LIMIT:
                overflow = True
                break
            entry = LedgerEntry(
                user_id=credit.user_id,
                kind=credit.kind,
                amount=credit.amount,
                balance_after=balances[credit.user_id],
                reference=credit.reference,
                memo=credit.memo[:255],
                created_by_id=credit.created_by_id,
            )
            if credit.reference:
                written[key] = entry
            new_entries.append(entry)
            results.append(entry)
        changed = {entry.user_id for entry in new_entries}
        if changed and not overflow:
            User.objects.filter(pk__in=changed).update(
                balance=Case(*(When(pk=user_id, then=Value(balances[user_id])) for user_id in sorted(changed)))
            )
            LedgerEntry.objects.bulk_create(new_entries)
    # Raised after the block (nothing written), so that a caller's transaction stays usable.
    if overflow:
        raise InvalidAmount(gettext("The balance would grow past the largest amount the panel keeps."))
    return results


def balance_debit(
    *,
    user_id: int,
    amount: Decimal,
    kind: str = Kind.CHARGE,
    reference: str = "",
    memo: str = "",
    created_by_id: int | None = None,
) -> LedgerEntry:
    """Take `amount` from a balance, or raise InsufficientFunds and write nothing."""
    if kind not in DEBIT_KINDS:
        raise ValueError(f"{kind} is not a debit")
    amount = _positive(amount)
    User = get_user_model()
    # savepoint=False: inside a caller's transaction (placing an order) a failure here must
    # undo the caller's writes too, and a savepoint would cost a round trip per charge.
    # A refusal leaves the block normally and is raised after it, so that a caller's
    # transaction stays usable (it can go on with the next line of a mass order).
    with transaction.atomic(savepoint=False):
        new_balance = _balance_take(user_model=User, user_id=user_id, amount=amount)
        if new_balance is not None:
            return LedgerEntry.objects.create(
                user_id=user_id,
                kind=kind,
                amount=-amount,
                balance_after=new_balance,
                reference=reference,
                memo=memo[:255],
                created_by_id=created_by_id,
            )
    raise InsufficientFunds()


def _balance_take(*, user_model, user_id: int, amount: Decimal) -> Decimal | None:
    """Subtract `amount` if the balance covers it, in one conditional UPDATE; the new balance, or None.

    The UPDATE takes the row lock itself and re-checks the condition on the row it locked, so
    concurrent debits of one customer queue up behind each other and none can overdraw it.
    """
    table = connection.ops.quote_name(user_model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET balance = balance - %s WHERE id = %s AND balance >= %s RETURNING balance",  # noqa: S608
            [amount, user_id, amount],
        )
        row = cursor.fetchone()
    if row is None:
        if not user_model.objects.filter(pk=user_id).exists():
            raise user_model.DoesNotExist(f"no user {user_id}")
        return None
    # SQLite hands back a float for a decimal column: read it through its text at our precision.
    return money_round(Decimal(str(row[0])))


def balance_adjust(*, user_id: int, amount: Decimal, memo: str, created_by_id: int | None = None) -> LedgerEntry:
    """An operator's signed correction: a positive amount is a deposit, a negative one a debit."""
    if amount > 0:
        return balance_credit(user_id=user_id, amount=amount, kind=Kind.DEPOSIT, memo=memo, created_by_id=created_by_id)
    return balance_debit(user_id=user_id, amount=-amount, kind=Kind.ADJUSTMENT, memo=memo, created_by_id=created_by_id)


def _positive(amount: Decimal) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise InvalidAmount()
    if money_round(amount) != amount:
        raise InvalidAmount(gettext("The amount has more decimal places than the panel keeps."))
    return amount


# Deposits ------------------------------------------------------------------------------------
#
# A deposit (FundsRequest) is credited once: every path that credits it locks its row first
# and acts only while the row is still undecided, and the ledger's unique (kind, reference)
# stands behind the lock. A gateway's word reaches this code only through a verified
# notification or a status check of our own; the customer's return from the gateway credits
# nothing.

Status = FundsRequest.Status
# States an operator may still credit or a gateway's late "paid" may still settle.
CREDITABLE = (Status.PENDING, Status.HELD, Status.EXPIRED, Status.FAILED)
REJECTABLE = (Status.PENDING, Status.HELD)
GATEWAY_DECIMAL_PLACES = 2  # invoices are in cents: the gateways take no finer amounts
# Deposits asked about per sweep: one gateway call each, well inside the task's time limit.
SWEEP_BATCH = 100
logger = logging.getLogger("billing.deposits")


@dataclass(frozen=True)
class SettleResult:
    """What a notification or a check did to a deposit. `final` means it was already decided before."""

    outcome: str  # a WebhookLog.Outcome value
    message: str
    final: bool = False


@dataclass
class SweepReport:
    checked: int = 0
    credited: int = 0
    expired: int = 0
    errors: int = 0

    def __str__(self) -> str:
        return f"{self.checked} checked, {self.credited} credited, {self.expired} expired, {self.errors} errors"


def deposit_amount_bounds(*, method: PaymentMethod) -> tuple[Decimal, Decimal]:
    return method.min_amount, min(method.max_amount, BALANCE_LIMIT - MONEY_QUANTUM)


def deposit_bonus_percent(*, method: PaymentMethod, amount: Decimal) -> Decimal:
    """The method's bonus plus the best tier the amount reaches."""
    tier = DepositBonusTier.objects.filter(min_amount__lte=amount).order_by("-min_amount").first()
    return method.bonus_percent + (tier.percent if tier else Decimal(0))


def funds_request_create(*, user_id: int, method_id: int, amount: Decimal, note: str = "") -> FundsRequest:
    """A deposit waiting for payment: checked against the method's bounds, nothing credited yet."""
    method = PaymentMethod.objects.filter(pk=method_id, is_active=True).first()
    if method is None:
        raise FundsRequestInvalid(gettext("Choose a payment method."))
    if not isinstance(amount, Decimal) or not amount.is_finite() or money_round(amount) != amount:
        raise FundsRequestInvalid(
            gettext("The amount must be a number with at most %(places)s decimals.")
            % {"places": settings.MONEY_DECIMAL_PLACES}
        )
    low, high = deposit_amount_bounds(method=method)
    if amount < low:
        raise FundsRequestInvalid(
            gettext("The minimum for %(method)s is %(amount)s.")
            % {"method": method.name, "amount": money_display(low, exact=True)}
        )
    if amount > high:
        raise FundsRequestInvalid(
            gettext("The maximum for %(method)s is %(amount)s.")
            % {"method": method.name, "amount": money_display(high, exact=True)}
        )
    if method.gateway and -amount.as_tuple().exponent > GATEWAY_DECIMAL_PLACES:
        raise FundsRequestInvalid(
            gettext("%(method)s takes amounts in cents: at most 2 decimals.") % {"method": method.name}
        )
    deposit = FundsRequest(user_id=user_id, method=method, amount=amount, note=note[:255])
    if method.gateway:
        deposit.reference = f"dep_{secrets.token_hex(10)}"
        deposit.expires_at = timezone.now() + timedelta(minutes=method.lifetime_minutes)
    deposit.save()
    return deposit


def deposit_start(*, deposit_id: int, notify_url: str, back_url: str) -> Redirect:
    """Open the deposit's invoice at its gateway and say where the customer goes to pay.

    The gateway is called outside any transaction (a slow gateway holds no lock). A refusal or
    an outage marks the deposit failed, with the reason for the customer, and is raised.
    """
    deposit = FundsRequest.objects.select_related("method").get(pk=deposit_id)
    gateway = gateway_for(deposit.method.gateway)
    if deposit.status != Status.PENDING:
        raise FundsRequestInvalid(
            gettext("Deposit %(id)s is %(status)s.")
            % {"id": deposit.pk, "status": deposit.get_status_display().lower()}
        )
    try:
        if gateway is None:
            raise GatewayNotConfigured(gettext("This payment method is not available."))
        invoice = gateway.invoice_create(
            deposit=deposit,
            credentials=_credentials(deposit.method),
            urls=DepositUrls(notify=notify_url, back=back_url),
        )
    except GatewayError as error:
        logger.warning("deposit %s: no invoice from %s: %s %s", deposit.pk, deposit.method.gateway, error, error.detail)
        FundsRequest.objects.filter(pk=deposit.pk, status=Status.PENDING).update(
            status=Status.FAILED, status_message=error.message[:255]
        )
        raise
    FundsRequest.objects.filter(pk=deposit.pk).update(
        gateway_reference=invoice.gateway_reference[:128],
        payment_url=invoice.redirect.url[:1000],
        payment_fields=dict(invoice.redirect.fields),
    )
    return invoice.redirect


def _credentials(method: PaymentMethod) -> dict[str, str]:
    try:
        return method.credentials
    except ImproperlyConfigured as error:
        # Saved under another FIELD_ENCRYPTION_KEY: the operator must enter them again.
        raise GatewayNotConfigured(detail=str(error)) from None


def deposit_notification_receive(
    *, gateway_code: str, notification: Notification, remote_addr: str | None = None
) -> WebhookLog:
    """Handle one notification from a gateway and log it, whatever it is; returns the log row.

    Unknown gateways and payments, bad signatures and mismatched amounts change nothing and
    are answered with a 4xx (`log.http_status`); so is a notification for a deposit already
    decided (a replay). The log is written after the deposit's own transaction, so a refused
    notification is still on record.
    """
    deposit: FundsRequest | None = None
    try:
        gateway = gateway_for(gateway_code)
        if gateway is None:
            raise WebhookRejected(f"No gateway {gateway_code!r}.", http_status=404)
        reference = gateway.notification_reference(notification=notification)
        if not reference:
            raise WebhookRejected("The notification names no payment.")
        deposit = (
            FundsRequest.objects.select_related("method")
            .filter(reference=reference[:40], method__gateway=gateway.code)
            .first()
        )
        if deposit is None:
            raise WebhookRejected(f"Unknown payment {reference[:60]!r}.", http_status=404)
        state = gateway.notification_verify(
            notification=notification, credentials=deposit.method.credentials, deposit=deposit
        )
        result = deposit_settle(deposit_id=deposit.pk, state=state)
    except WebhookRejected as error:
        outcome, status, message = WebhookLog.Outcome.REJECTED, error.http_status, error.message
    except ImproperlyConfigured as error:
        outcome, status, message = WebhookLog.Outcome.REJECTED, 503, str(error)
    except PanelError as error:
        outcome, status, message = WebhookLog.Outcome.REJECTED, 422, error.message
    else:
        outcome, message = result.outcome, result.message
        status = 409 if result.final else 200
    if outcome == WebhookLog.Outcome.REJECTED or status >= 400:
        logger.warning("webhook %s from %s refused (%s): %s", gateway_code, remote_addr, status, message)
    return WebhookLog.objects.create(
        gateway=_storable(gateway_code)[:32],
        remote_addr=remote_addr,
        headers={_storable(k): _storable(v) for k, v in notification.headers.items()},
        body=_logged_body(notification),
        deposit=deposit,
        outcome=outcome,
        http_status=status,
        message=_storable(message)[:255],
    )


def _logged_body(notification: Notification) -> str:
    # Perfect Money posts a form; the others JSON. Only the first 8 KB: enough to read, not a disk filler.
    text = notification.body.decode("utf-8", errors="replace") if notification.body else ""
    if not text and notification.form:
        text = json.dumps(dict(notification.form), sort_keys=True)
    return _storable(text[:8192])


def _storable(text: str) -> str:
    """Anyone can post to a webhook: text PostgreSQL cannot store (NUL) is kept visibly escaped."""
    return str(text).replace("\x00", "\\x00")


def deposit_settle(*, deposit_id: int, state: PaymentState, staff_id: int | None = None) -> SettleResult:
    """Apply a verified gateway state to a deposit, under its row lock; credit it at most once."""
    Outcome = WebhookLog.Outcome
    with transaction.atomic():
        deposit = FundsRequest.objects.select_for_update().select_related("method").get(pk=deposit_id)
        if deposit.is_final:
            return SettleResult(Outcome.UNCHANGED, f"Deposit {deposit.pk} was already {deposit.status}.", final=True)
        fields = _record_gateway_fields(deposit, state)
        if state.outcome == "pending":
            message = f"Gateway status {state.gateway_status or 'pending'}."
            return _save(deposit, fields, Outcome.UPDATED if fields else Outcome.UNCHANGED, message)
        if state.outcome in ("expired", "failed"):
            if deposit.status != Status.PENDING:
                return _save(deposit, fields, Outcome.UNCHANGED, f"Deposit stays {deposit.status}.")
            deposit.status = Status.EXPIRED if state.outcome == "expired" else Status.FAILED
            deposit.status_message = f"The gateway reports the payment {state.gateway_status}."[:255]
            fields |= {"status", "status_message"}
            return _save(deposit, fields, Outcome.UPDATED, f"Deposit {deposit.status}.")
        paid = state.paid_amount if state.paid_amount is not None else None
        if state.outcome == "paid" and paid is None:
            paid = deposit.amount
        if paid is not None and paid >= deposit.amount:
            _deposit_credit(deposit, paid=paid, staff_id=staff_id, memo=state.gateway_reference)
            return SettleResult(Outcome.CREDITED, f"Credited {deposit.credited_amount} (paid {paid}).")
        if deposit.status == Status.HELD and deposit.paid_amount == paid:
            return _save(deposit, fields, Outcome.UNCHANGED, "Already held for an operator.")
        if paid is not None and paid > 0 and deposit.method.underpayment == PaymentMethod.Underpayment.CREDIT:
            _deposit_credit(deposit, paid=paid, staff_id=staff_id, memo=state.gateway_reference)
            return SettleResult(Outcome.CREDITED, f"Underpaid: credited {deposit.credited_amount} (paid {paid}).")
        deposit.status = Status.HELD
        deposit.paid_amount = paid
        deposit.status_message = (
            f"{paid} of {deposit.amount} arrived: an operator will review it."
            if paid is not None
            else f"Less than {deposit.amount} arrived: an operator will review it."
        )
        fields |= {"status", "paid_amount", "status_message"}
        return _save(deposit, fields, Outcome.UPDATED, f"Underpaid ({paid} of {deposit.amount}): held.")


def _record_gateway_fields(deposit: FundsRequest, state: PaymentState) -> set[str]:
    fields: set[str] = set()
    for name, value in (
        ("gateway_status", state.gateway_status[:32]),
        ("gateway_payment_id", state.gateway_payment_id[:128]),
        ("gateway_reference", state.gateway_reference[:128]),
    ):
        if (
            value
            and getattr(deposit, name) != value
            and not (name == "gateway_reference" and deposit.gateway_reference)
        ):
            setattr(deposit, name, value)
            fields.add(name)
    return fields


def _save(deposit: FundsRequest, fields: set[str], outcome: str, message: str) -> SettleResult:
    if fields:
        deposit.save(update_fields=sorted(fields))
    return SettleResult(outcome, message)


def _deposit_credit(deposit: FundsRequest, *, paid: Decimal, staff_id: int | None, memo: str = "") -> None:
    """Credit `paid` less the method's fee, the bonus on top, and the referrer's commission on the credit.

    The deposit row must be locked. Operator credits (`balance_adjust`) are not deposits and earn no commission.
    """
    method = deposit.method
    credited = money_round(paid * (100 - method.fee_percent) / 100)
    if credited <= 0:
        raise FundsRequestInvalid(f"Deposit {deposit.pk}: nothing to credit from {paid}.")
    bonus_percent = deposit_bonus_percent(method=method, amount=paid)
    bonus = money_round(credited * bonus_percent / 100)
    reference = f"funds:{deposit.pk}"
    credits = [
        Credit(
            user_id=deposit.user_id,
            amount=credited,
            kind=Kind.DEPOSIT,
            reference=reference,
            memo=f"Deposit {deposit.pk}: {method.name} {memo or deposit.note}".strip(),
            created_by_id=staff_id,
        )
    ]
    if bonus > 0:
        credits.append(
            Credit(
                user_id=deposit.user_id,
                amount=bonus,
                kind=Kind.BONUS,
                reference=reference,
                memo=f"Bonus {bonus_percent.normalize():f}% on deposit {deposit.pk}",
                created_by_id=staff_id,
            )
        )
    balance_credit_many(credits=credits)
    # In the deposit's own transaction: a deposit is never credited without its referrer's commission, or twice.
    _affiliate_commission(deposit, credited=credited, staff_id=staff_id)
    deposit.status = Status.APPROVED
    deposit.paid_amount = paid
    deposit.credited_amount = credited
    deposit.bonus_amount = bonus
    deposit.status_message = ""
    deposit.reviewed_by_id = staff_id
    deposit.reviewed_at = timezone.now()
    deposit.save()


def funds_request_approve(*, funds_request_id: int, staff_id: int | None = None) -> FundsRequest:
    """An operator credits a deposit: a manual payment, or a held, expired or failed gateway payment.

    It credits what arrived when the gateway said so (a held underpayment), else the amount
    asked. A deposit already decided (by another operator or the gateway) raises
    FundsRequestDecided and changes nothing.
    """
    with transaction.atomic():
        deposit = FundsRequest.objects.select_for_update().select_related("method").get(pk=funds_request_id)
        if deposit.status not in CREDITABLE:
            raise FundsRequestDecided(
                f"Deposit {deposit.pk} was already decided ({deposit.get_status_display().lower()})."
            )
        paid = deposit.paid_amount if deposit.status == Status.HELD and deposit.paid_amount else deposit.amount
        _deposit_credit(deposit, paid=paid, staff_id=staff_id)
        return deposit


def funds_request_reject(*, funds_request_id: int, staff_id: int, note: str = "") -> FundsRequest:
    # One conditional UPDATE: it waits for a concurrent approval's row lock and then finds the
    # row no longer undecided, so exactly one of the two operators wins.
    updated = FundsRequest.objects.filter(pk=funds_request_id, status__in=REJECTABLE).update(
        status=Status.REJECTED, reviewed_by_id=staff_id, reviewed_at=timezone.now(), review_note=note[:255]
    )
    deposit = FundsRequest.objects.get(pk=funds_request_id)
    if not updated:
        raise FundsRequestDecided(f"Deposit {deposit.pk} was already decided ({deposit.get_status_display().lower()}).")
    return deposit


def deposit_check(*, deposit_id: int) -> SettleResult:
    """Ask the deposit's gateway about it now (the sweep, or an operator) and apply the answer."""
    deposit = FundsRequest.objects.select_related("method").get(pk=deposit_id)
    gateway = gateway_for(deposit.method.gateway)
    if gateway is None:
        return SettleResult(WebhookLog.Outcome.UNCHANGED, "Manual deposits have no gateway to ask.")
    FundsRequest.objects.filter(pk=deposit.pk).update(last_checked_at=timezone.now())
    state = gateway.payment_check(deposit=deposit, credentials=_credentials(deposit.method))
    if state is None:
        return SettleResult(WebhookLog.Outcome.UNCHANGED, f"{gateway.name} cannot be asked about this payment.")
    return deposit_settle(deposit_id=deposit.pk, state=state)


def deposits_sweep(*, now: datetime | None = None, limit: int = SWEEP_BATCH) -> SweepReport:
    """Ask the gateways about deposits still pending after DEPOSIT_CHECK_AFTER_MINUTES; expire the stale.

    So a lost notification never loses a payment. Each deposit is claimed with a conditional
    update of `last_checked_at`, so two overlapping sweeps never ask about it twice. A deposit
    past its lifetime whose gateway says nothing better (or cannot be asked) expires; a late
    "paid" still credits it afterwards.
    """
    now = now or timezone.now()
    report = SweepReport()
    recheck = now - timedelta(seconds=settings.DEPOSIT_RECHECK_SECONDS)
    due = (
        FundsRequest.objects.filter(
            status=Status.PENDING,
            created_at__lte=now - timedelta(minutes=settings.DEPOSIT_CHECK_AFTER_MINUTES),
        )
        .exclude(method__gateway="")
        .filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lte=recheck))
        .order_by(F("last_checked_at").asc(nulls_first=True), "pk")
        .values_list("pk", "last_checked_at")[:limit]
    )
    for deposit_id, checked_at in list(due):
        claimed = FundsRequest.objects.filter(pk=deposit_id, status=Status.PENDING, last_checked_at=checked_at)
        if checked_at is None:
            claimed = FundsRequest.objects.filter(pk=deposit_id, status=Status.PENDING, last_checked_at__isnull=True)
        if not claimed.update(last_checked_at=now):
            continue
        report.checked += 1
        try:
            result = deposit_check(deposit_id=deposit_id)
        except GatewayError as error:
            report.errors += 1
            logger.warning("deposit %s: status check failed: %s %s", deposit_id, error, getattr(error, "detail", ""))
        else:
            if result.outcome == WebhookLog.Outcome.CREDITED:
                report.credited += 1
        expired = FundsRequest.objects.filter(pk=deposit_id, status=Status.PENDING, expires_at__lt=now).update(
            status=Status.EXPIRED, status_message="No payment arrived in time."
        )
        report.expired += expired
    return report


def deposit_reverse(*, deposit_id: int, staff_id: int, note: str = "") -> FundsRequest:
    """An operator takes a credited deposit back (a chargeback, a payment the gateway reversed).

    Its credit and bonus leave the customer's balance (one REVERSAL row) and its commission the referrer's
    affiliate balance, all in one transaction or not at all: a reversal that would drive either balance below
    zero is refused with the amounts, and changes nothing. Done once: the deposit row is locked and must still be
    credited, and the ledgers' unique (kind, reference) stand behind it.
    """
    with transaction.atomic():
        deposit = FundsRequest.objects.select_for_update().select_related("user").get(pk=deposit_id)
        if deposit.status != Status.APPROVED:
            raise FundsRequestDecided(
                f"Deposit {deposit.pk} is {deposit.get_status_display().lower()}: only a credited deposit can be "
                "reversed."
            )
        reference = f"funds:{deposit.pk}"
        credited = LedgerEntry.objects.filter(
            user_id=deposit.user_id, reference=reference, kind__in=[Kind.DEPOSIT, Kind.BONUS]
        ).aggregate(total=Sum("amount"))["total"]
        credited = money_round(credited or Decimal(0))
        memo = f"Deposit {deposit.pk} reversed{': ' + note if note else ''}"
        if credited > 0:
            try:
                balance_debit(
                    user_id=deposit.user_id,
                    amount=credited,
                    kind=Kind.REVERSAL,
                    reference=reference,
                    memo=memo,
                    created_by_id=staff_id,
                )
            except InsufficientFunds:
                balance = type(deposit.user).objects.values_list("balance", flat=True).get(pk=deposit.user_id)
                raise DepositReverseRefused(
                    f"Deposit {deposit.pk}: {deposit.user} has {money_str(balance)} left, less than the "
                    f"{money_str(credited)} it credited "
                    "(with its bonus). Nothing was reversed."
                ) from None
        commission = AffiliateEntry.objects.filter(kind=AffiliateEntry.Kind.COMMISSION, reference=reference).first()
        if commission is not None:
            try:
                _affiliate_post(
                    account_id=commission.account_id,
                    amount=-commission.amount,
                    kind=AffiliateEntry.Kind.REVERSAL,
                    reference=reference,
                    memo=memo,
                    created_by_id=staff_id,
                )
            except AffiliateInsufficientFunds:
                balance = AffiliateAccount.objects.values_list("balance", flat=True).get(pk=commission.account_id)
                raise DepositReverseRefused(
                    f"Deposit {deposit.pk}: the referrer (customer {commission.account_id}) has "
                    f"{money_str(balance)} of affiliate balance left, less than the {money_str(commission.amount)} "
                    "commission to take back. Nothing was reversed."
                ) from None
        deposit.status = Status.REVERSED
        deposit.status_message = memo[:255]
        deposit.save(update_fields=["status", "status_message"])
        return deposit


# Affiliates ----------------------------------------------------------------------------------
#
# A customer's affiliate balance is an account of its own (AffiliateAccount.balance and its AffiliateEntry rows),
# never mixed with the main balance until they move it there (a TRANSFER row and an AFFILIATE main-ledger row, one
# transaction) or staff pay it out. Locks are always taken in the same order: a deposit or payout row, then
# customers' rows, then affiliate accounts. A deposit's commission locks its customer then the referrer's
# account; a transfer the referrer's own row then their account: no two paths wait on each other in a circle.

# No 0/o or 1/l: codes are read aloud and typed by hand. 32 symbols x 12 = 60 bits: not guessable or enumerable.
REFERRAL_CODE_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
REFERRAL_CODE_LENGTH = 12
Affiliate = AffiliateEntry.Kind


def _referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_CODE_ALPHABET) for _ in range(REFERRAL_CODE_LENGTH))


def affiliate_account_get(*, user_id: int) -> AffiliateAccount:
    """The customer's affiliate account, made with a fresh random referral code on first use."""
    for _ in range(3):
        account = AffiliateAccount.objects.filter(pk=user_id).first()
        if account is not None:
            return account
        try:
            # get_or_create settles two first visits at once (the primary key); a retry, a code collision.
            with transaction.atomic():
                account, _ = AffiliateAccount.objects.get_or_create(
                    user_id=user_id, defaults={"code": _referral_code()}
                )
            return account
        except IntegrityError:
            continue
    raise AffiliateError(gettext("Could not open the affiliate account: please try again."))


def affiliate_referrer_set(*, user_id: int, code: str) -> AffiliateAccount:
    """Attribute a new customer to the referrer whose link they came through: at most once, never to themselves.

    Refused (ReferralRefused, nothing changes) for an unknown code, the customer's own code, a suspended referrer,
    a referrer who joined after the customer, or a customer who already has a referrer (it never changes).
    """
    account = affiliate_account_get(user_id=user_id)
    referrer = AffiliateAccount.objects.select_related("user").filter(code=code).first() if code else None
    if referrer is None:
        raise ReferralRefused("Unknown referral code.")
    if referrer.pk == user_id:
        raise ReferralRefused("A customer cannot refer themselves.")
    if not referrer.user.is_active:
        raise ReferralRefused("The referrer's account is suspended.")
    joined = type(referrer.user).objects.values_list("date_joined", flat=True).get(pk=user_id)
    if referrer.user.date_joined >= joined:
        raise ReferralRefused("The referrer joined after this customer.")
    # Conditional: of two attributions at once, one wins, and a referrer once set stays.
    updated = AffiliateAccount.objects.filter(pk=user_id, referred_by__isnull=True).update(
        referred_by=referrer, referred_at=timezone.now()
    )
    if not updated:
        raise ReferralRefused("This customer already has a referrer.")
    account.refresh_from_db()
    return account


def affiliate_visit_record(*, code: str) -> bool:
    """Count a visit of a referral link (one UPDATE of a counter, no row per visit); False for an unknown code."""
    return bool(code) and AffiliateAccount.objects.filter(code=code).update(visits=F("visits") + 1) == 1


def affiliate_commission_percent(*, account: AffiliateAccount) -> Decimal:
    if account.commission_percent is not None:
        return account.commission_percent
    return settings.AFFILIATE_COMMISSION_PERCENT


def _affiliate_commission(deposit: FundsRequest, *, credited: Decimal, staff_id: int | None) -> AffiliateEntry | None:
    """The referrer's commission on a deposit's credit (not its bonus). The caller holds the deposit's row lock."""
    referrer = AffiliateAccount.objects.filter(referrals__pk=deposit.user_id).first()
    if referrer is None:
        return None
    percent = affiliate_commission_percent(account=referrer)
    amount = money_round(credited * percent / 100)
    if amount <= 0:
        return None
    return _affiliate_post(
        account_id=referrer.pk,
        amount=amount,
        kind=Affiliate.COMMISSION,
        reference=f"funds:{deposit.pk}",
        memo=f"{percent.normalize():f}% of a referred customer's deposit of {money_str(credited)}",
        created_by_id=staff_id,
    )


def _affiliate_post(
    *, account_id: int, amount: Decimal, kind: str, reference: str, memo: str, created_by_id: int | None = None
) -> AffiliateEntry:
    """Write one row of an affiliate account and its new balance (`amount` signed), under the account's row lock.

    A (kind, reference) already written returns that row and changes nothing: checked under the lock, so a
    concurrent repeat waits for the first and finds its row. A debit the balance does not cover raises
    AffiliateInsufficientFunds after the block (nothing written, the caller's transaction still usable).
    """
    with transaction.atomic(savepoint=False):
        balance = (
            AffiliateAccount.objects.select_for_update().filter(pk=account_id).values_list("balance", flat=True).get()
        )
        if reference:
            written = AffiliateEntry.objects.filter(kind=kind, reference=reference).first()
            if written is not None:
                return written
        new_balance = money_round(balance + amount)
        if 0 <= new_balance < BALANCE_LIMIT:
            AffiliateAccount.objects.filter(pk=account_id).update(balance=new_balance)
            return AffiliateEntry.objects.create(
                account_id=account_id,
                kind=kind,
                amount=amount,
                balance_after=new_balance,
                reference=reference,
                memo=memo[:255],
                created_by_id=created_by_id,
            )
    if new_balance < 0:
        raise AffiliateInsufficientFunds(
            gettext("Not enough on your affiliate balance: %(balance)s available.") % {"balance": money_str(balance)}
        )
    raise InvalidAmount(gettext("The balance would grow past the largest amount the panel keeps."))


def _affiliate_amount(amount: Decimal) -> Decimal:
    """An amount a referrer moves or asks to be paid: positive, in the panel's digits, at least AFFILIATE_MIN_PAYOUT."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise AffiliateError(gettext("Enter an amount above zero."))
    if money_round(amount) != amount:
        raise AffiliateError(gettext("The amount has more decimal places than the panel keeps."))
    if amount < settings.AFFILIATE_MIN_PAYOUT:
        raise AffiliateError(
            gettext("The minimum is %(minimum)s %(currency)s.")
            % {"minimum": money_str(settings.AFFILIATE_MIN_PAYOUT), "currency": settings.PANEL_CURRENCY}
        )
    return amount


def affiliate_transfer(*, user_id: int, amount: Decimal) -> LedgerEntry:
    """Move affiliate earnings to the customer's main balance: the affiliate debit and the main credit at once.

    Both rows share one reference ("transfer:<random>"), so each side of a transfer names the other.
    """
    amount = _affiliate_amount(amount)
    affiliate_account_get(user_id=user_id)
    User = get_user_model()
    reference = f"transfer:{secrets.token_hex(8)}"
    memo = "Affiliate earnings moved to the main balance"
    with transaction.atomic():
        # The customer's row before their affiliate account: the lock order every money path keeps.
        list(User.objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True))
        _affiliate_post(account_id=user_id, amount=-amount, kind=Affiliate.TRANSFER, reference=reference, memo=memo)
        return balance_credit(user_id=user_id, amount=amount, kind=Kind.AFFILIATE, reference=reference, memo=memo)


def affiliate_payout_request(*, user_id: int, amount: Decimal, details: str) -> AffiliatePayout:
    """Ask staff to pay affiliate earnings by hand. The amount is held (taken from the affiliate balance) at once."""
    amount = _affiliate_amount(amount)
    details = " ".join(details.split())
    if not details:
        raise AffiliateError(gettext("Say where to send the payout (wallet, account)."))
    affiliate_account_get(user_id=user_id)
    with transaction.atomic():
        payout = AffiliatePayout.objects.create(account_id=user_id, amount=amount, details=details[:255])
        _affiliate_post(
            account_id=user_id,
            amount=-amount,
            kind=Affiliate.PAYOUT,
            reference=f"payout:{payout.pk}",
            memo=f"Payout request {payout.pk}",
        )
        return payout


def affiliate_payout_approve(*, payout_id: int, staff_id: int, note: str = "") -> AffiliatePayout:
    """Staff paid it outside the panel: the held amount stays out of the affiliate balance.

    One conditional UPDATE: it waits for a concurrent rejection's row lock and then finds the request decided.
    """
    updated = AffiliatePayout.objects.filter(pk=payout_id, status=AffiliatePayout.Status.PENDING).update(
        status=AffiliatePayout.Status.APPROVED, reviewed_by_id=staff_id, reviewed_at=timezone.now(), review_note=note
    )
    payout = AffiliatePayout.objects.get(pk=payout_id)
    if not updated:
        raise AffiliatePayoutDecided(f"Payout {payout.pk} was already decided ({payout.get_status_display().lower()}).")
    return payout


def affiliate_payout_reject(*, payout_id: int, staff_id: int, note: str = "") -> AffiliatePayout:
    """Refuse a payout request: the held amount returns to the affiliate balance, in the same transaction."""
    with transaction.atomic():
        payout = AffiliatePayout.objects.select_for_update().get(pk=payout_id)
        if payout.status != AffiliatePayout.Status.PENDING:
            raise AffiliatePayoutDecided(
                f"Payout {payout.pk} was already decided ({payout.get_status_display().lower()})."
            )
        _affiliate_post(
            account_id=payout.account_id,
            amount=payout.amount,
            kind=Affiliate.PAYOUT_RETURN,
            reference=f"payout:{payout.pk}",
            memo=f"Payout request {payout.pk} rejected{': ' + note if note else ''}",
            created_by_id=staff_id,
        )
        payout.status = AffiliatePayout.Status.REJECTED
        payout.reviewed_by_id = staff_id
        payout.reviewed_at = timezone.now()
        payout.review_note = note[:255]
        payout.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
        return payout
