from django.utils.translation import gettext_lazy as _

from core.errors import PanelError


class InsufficientFunds(PanelError):
    # The words existing API v2 clients recognise.
    default_message = _("Not enough funds on balance")


class InvalidAmount(PanelError):
    default_message = _("The amount must be a positive number.")


class FundsRequestInvalid(PanelError):
    default_message = _("The request to add funds is not valid.")


class FundsRequestDecided(FundsRequestInvalid):
    """Another operator (or the gateway) decided this deposit first: a lost race, not a failure."""

    default_message = _("This deposit was already decided.")


class GatewayError(PanelError):
    """A payment gateway could not be used: unreachable, refused, or an answer we cannot read.

    `permanent` tells a refusal that will not change by retrying (bad credentials, a rejected
    invoice) from a passing failure (a timeout, a 5xx) that the sweep will try again.
    """

    default_message = _("The payment gateway could not be reached. Please try again in a few minutes.")
    permanent: bool = False

    def __init__(self, message: str | None = None, *, permanent: bool | None = None, detail: str = "") -> None:
        super().__init__(message)
        if permanent is not None:
            self.permanent = permanent
        # For the operator's log: what the gateway actually said (never shown to customers).
        self.detail = detail[:500]


class GatewayUnreachable(GatewayError):
    default_message = _("The payment gateway could not be reached. Please try again in a few minutes.")


class GatewayRefused(GatewayError):
    default_message = _("The payment gateway refused the request.")
    permanent = True


class GatewayBadResponse(GatewayError):
    default_message = _("The payment gateway's answer could not be read.")


class GatewayNotConfigured(GatewayError):
    default_message = _("This payment method is not configured yet: please choose another one.")
    permanent = True


class WebhookRejected(PanelError):
    """A notification we refuse: it changes nothing, is logged, and is answered with `http_status`."""

    default_message = "Notification refused."

    def __init__(self, message: str | None = None, *, http_status: int = 400) -> None:
        super().__init__(message)
        self.http_status = http_status


class DepositReverseRefused(FundsRequestInvalid):
    """A reversal that would drive a balance (the customer's or their referrer's affiliate one) below zero."""

    default_message = "This deposit cannot be reversed."


class AffiliateError(PanelError):
    default_message = "The affiliate request is not valid."


class ReferralRefused(AffiliateError):
    """A signup that cannot be attributed: unknown code, the customer themselves, or a referrer already set."""

    default_message = "This referral cannot be recorded."


class AffiliateInsufficientFunds(AffiliateError):
    default_message = "Not enough on your affiliate balance."


class AffiliatePayoutDecided(AffiliateError):
    """Another operator decided this payout request first: a lost race, not a failure."""

    default_message = "This payout request was already decided."
