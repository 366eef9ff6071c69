"""Forms of the customer website.

They check the shape of input only. What an order needs is decided by `orders.order_types`
and `order_create`, the same code `/api/v2` runs, so the website and the API never disagree;
a refusal (`PanelError`) comes back here to be shown beside the field it names.
"""

import re

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.errors import PanelError
from core.money import RATE_UNIT, money_str
from orders.models import Service
from orders.order_types import ORDER_TYPES, SUBSCRIPTION_DELAYS, order_type_for
from orders.services.ordering import ACTIVE_LINK_MESSAGE
from panel.models import User
from panel.services import TwoFactorError, password_reset_mail_queue, staff_totp_device, staff_totp_verify

# The order fields in the order a customer fills them; any field a new order type adds to
# ORDER_TYPES is appended, so the form never silently drops one.
_PREFERRED_ORDER = (
    "link",
    "quantity",
    "username",
    "comments",
    "usernames",
    "hashtags",
    "hashtag",
    "media",
    "answer_number",
    "groups",
    "list",
    "suggest",
    "search",
    "min",
    "max",
    "posts",
    "old_posts",
    "delay",
    "expiry",
)
DRIPFEED_FIELDS = ("runs", "interval")
_TYPE_FIELDS = {name for kind in ORDER_TYPES.values() for name in (*kind.needs, *kind.optional)} - set(DRIPFEED_FIELDS)
ORDER_FIELDS: tuple[str, ...] = tuple(name for name in _PREFERRED_ORDER if name in _TYPE_FIELDS) + tuple(
    sorted(_TYPE_FIELDS - set(_PREFERRED_ORDER))
)

LINE_LIST_FIELDS = {"comments", "usernames", "hashtags", "groups", "list", "suggest", "search"}
NUMBER_FIELDS = {"quantity", "answer_number", "min", "max", "posts", "old_posts", "runs", "interval"}

FIELD_TEXT: dict[str, tuple[str, str]] = {
    "link": ("Link", "The page, post or profile to deliver to."),
    "quantity": ("Quantity", ""),
    "username": ("Username", "The account the service asks for: see its description."),
    "comments": ("Comments", "One comment per line; each line is one unit."),
    "usernames": ("Usernames", "One username per line."),
    "hashtags": ("Hashtags", "One hashtag per line."),
    "hashtag": ("Hashtag", "The hashtag to take usernames from."),
    "media": ("Media link", "The post whose likers are mentioned."),
    "answer_number": ("Answer number", "The number of the poll answer to vote for."),
    "groups": ("Groups", "One group per line."),
    "list": ("List", "Suggested videos or search keywords, one per line."),
    "suggest": ("Suggested videos", "One video per line."),
    "search": ("Search keywords", "One keyword per line."),
    "min": ("Minimum per post", "The least to deliver to each new post."),
    "max": ("Maximum per post", "The most to deliver to each new post."),
    "posts": ("New posts", "How many future posts to deliver to."),
    "old_posts": ("Existing posts", "How many existing posts to deliver to (optional)."),
    "delay": ("Delay", "Minutes to wait after each new post."),
    "expiry": ("Expiry date", "Optional, as day/month/year, e.g. 31/12/2026."),
    "require": ("Your details", "What the product asks you for: see its description."),
    "runs": ("Runs", "How many times the quantity is delivered (2 or more)."),
    "interval": ("Interval", "Minutes between runs."),
}


def _order_field(name: str) -> forms.Field:
    label, help_text = FIELD_TEXT.get(name, (name.replace("_", " ").capitalize(), ""))
    if name in LINE_LIST_FIELDS:
        widget = forms.Textarea(attrs={"rows": 5})
    elif name == "delay":
        widget = forms.Select(choices=[("", "Choose...")] + [(str(d), f"{d} minutes") for d in SUBSCRIPTION_DELAYS])
    elif name in NUMBER_FIELDS:
        widget = forms.NumberInput(attrs={"min": 0, "step": 1, "inputmode": "numeric"})
    elif name == "link":
        widget = forms.TextInput(attrs={"inputmode": "url", "autocomplete": "off", "placeholder": "https://"})
    else:
        widget = forms.TextInput(attrs={"autocomplete": "off"})
    # strip=False: the order rules decide what whitespace means (a comment list keeps its lines).
    return forms.CharField(label=label, help_text=help_text, required=False, strip=False, widget=widget)


def service_price_by(service: Service) -> str:
    """How the price follows the form: "package", "quantity", "subscription" or "lines:<field>"."""
    kind = order_type_for(service.type)
    if kind.quantity_from == "package":
        return "package"
    if kind.quantity_from:
        return f"lines:{kind.quantity_from}"
    if kind is ORDER_TYPES["subscriptions"]:
        return "subscription"
    return "quantity"


def service_rate_unit(service: Service) -> int:
    return getattr(service, "units_per_rate", RATE_UNIT)


def service_takes_dripfeed(service: Service) -> bool:
    return service.dripfeed and "runs" in order_type_for(service.type).optional


def service_order_fields(service: Service) -> list[str]:
    """The order fields a service's type takes (drip-feed's runs/interval aside), in form order."""
    kind = order_type_for(service.type)
    taken = set(kind.needs) | set(kind.optional)
    return [name for name in ORDER_FIELDS if name in taken]


def service_required_fields(service: Service) -> list[str]:
    return [name for name in order_type_for(service.type).needs if name not in DRIPFEED_FIELDS]


def service_for_js(service: Service) -> dict:
    """What the order page's script needs to show a service and price an order (no cost, no provider)."""
    return {
        "id": service.pk,
        "name": service.name,
        "category": service.category_id,
        "rate": money_str(service.price),
        # The rate is per 1,000 units, or per unit for a product.
        "per": service_rate_unit(service),
        "require": getattr(service, "require", ""),
        "min": service.min,
        "max": service.max,
        "refill": service.refill,
        "cancel": service.cancel,
        "dripfeed": service_takes_dripfeed(service),
        "description": service.description,
        "fields": service_order_fields(service),
        "required": service_required_fields(service),
        "price_by": service_price_by(service),
    }


_FIELD_IN_MESSAGE = re.compile(r"^(?:Incorrect request: )?([A-Za-z_]+)\b")
_REQUIRED_MESSAGE = re.compile(r"^Incorrect request: [A-Za-z_]+ is required\.?$")
_LIMIT_MESSAGE = re.compile(r"^Quantity (less than minimal|more than maximum) (\d+)$")


class NewOrderForm(forms.Form):
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        error_messages={
            "required": "Choose a service.",
            "invalid_choice": "That service is not available any more: choose another.",
        },
    )
    dripfeed = forms.BooleanField(required=False, label="Drip-feed: deliver in several runs")

    def __init__(self, *args, services, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        for name in (*ORDER_FIELDS, *DRIPFEED_FIELDS):
            self.fields[name] = _order_field(name)

    def order_data(self) -> dict:
        """The fields the chosen service takes, as typed: a hidden field's leftover value is not sent."""
        service = self.cleaned_data["service"]
        names = service_order_fields(service)
        if service_takes_dripfeed(service) and self.cleaned_data.get("dripfeed"):
            names += DRIPFEED_FIELDS
        return {name: self.cleaned_data.get(name, "") for name in names}

    def add_order_error(self, error: PanelError) -> None:
        """Show the refusal beside the field it names, in plain words; else above the form."""
        service = self.cleaned_data["service"]
        field, message = order_error_field(error.message, service=service, dripfeed=self.cleaned_data.get("dripfeed"))
        self.add_error(field, message)


def order_error_field(message: str, *, service: Service, dripfeed: bool = False) -> tuple[str | None, str]:
    """(field, message) for an order refusal; field None when it names none the form shows."""
    shown = set(service_order_fields(service))
    if service_takes_dripfeed(service) and dripfeed:
        shown.update(DRIPFEED_FIELDS)
    if message == ACTIVE_LINK_MESSAGE:
        message = "You already have an active order for this link: wait until it completes."
        return ("link" if "link" in shown else None), message
    if message == "Incorrect service ID":
        return "service", "That service is not available any more: choose another."
    limit = _LIMIT_MESSAGE.match(message)
    if limit:
        word = "minimum" if limit.group(1).startswith("less") else "maximum"
        message = f"The {word} for this service is {limit.group(2)}."
        # The limit bounds whatever makes the quantity: a list's lines, or a subscription's max.
        price_by = service_price_by(service)
        field = {"subscription": "max"}.get(price_by, price_by.removeprefix("lines:"))
        return (field if field in shown else None), message
    named = _FIELD_IN_MESSAGE.match(message)
    field = named.group(1).lower() if named else None
    if field not in shown:
        return None, message
    if _REQUIRED_MESSAGE.match(message):
        message = "This field is required."
    return field, message[:1].upper() + message[1:]


MASS_ORDER_MAX_LINES = 100  # each line is its own transaction and charge: keep one request short


class MassOrderForm(forms.Form):
    orders = forms.CharField(
        label="Orders",
        help_text=f"One order per line: service_id|link|quantity (at most {MASS_ORDER_MAX_LINES} lines).",
        widget=forms.Textarea(attrs={"rows": 10, "placeholder": "102|https://instagram.com/p/abc|1000"}),
        error_messages={"required": "Write at least one order."},
    )

    def clean_orders(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["orders"].splitlines() if line.strip()]
        if not lines:
            raise ValidationError("Write at least one order.")
        if len(lines) > MASS_ORDER_MAX_LINES:
            raise ValidationError(f"At most {MASS_ORDER_MAX_LINES} lines at a time; this has {len(lines)}.")
        return lines


def mass_order_line_parse(line: str) -> tuple[str, str, str]:
    """(service_id, link, quantity) from "service_id|link|quantity"; a link may itself hold "|"."""
    service_id, sep, rest = line.partition("|")
    link, sep2, quantity = rest.rpartition("|")
    if not sep or not sep2:
        raise ValueError("Write the line as service_id|link|quantity.")
    return service_id.strip(), link.strip(), quantity.strip()


class SignupForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        label=_("Username"),
        help_text=_("Letters, digits and @ . + - _ only."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        help_text=_("At least 8 characters; not only digits, not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("That username is taken: choose another."))
        return username

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        # Password reset finds accounts by email: one account per address keeps it unambiguous.
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(_("An account with this email already exists: log in or reset its password."))
        return email

    def clean(self) -> dict:
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            probe = User(username=cleaned.get("username", ""), email=cleaned.get("email", ""))
            try:
                password_validation.validate_password(first, user=probe)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class PasswordResetRequestForm(PasswordResetForm):
    """Django's reset form, but the mail is sent by a Celery task (panel.tasks), never in the request."""

    def save(self, *, domain_override=None, use_https=False, request=None, **kwargs) -> None:
        email = self.cleaned_data["email"]
        domain = domain_override or request.get_host()
        language = translation.get_language() or ""
        transaction.on_commit(
            lambda: password_reset_mail_queue(email=email, domain=domain, use_https=use_https, language=language)
        )


class TwoFactorCodeForm(forms.Form):
    token = forms.CharField(
        label="Code from your app",
        max_length=8,
        help_text="The 6 digits your authenticator app shows now.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        error_messages={"required": "Enter the 6-digit code from your authenticator app."},
    )


class StaffLoginForm(AdminAuthenticationForm):
    """The admin's sign-in: password (locked out by django-axes after repeated failures), then,
    for staff with two-factor sign-in on, the current code from their authenticator app."""

    otp_token = forms.CharField(
        label="Two-factor code",
        required=False,
        max_length=8,
        help_text="Only if you turned two-factor sign-in on.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        user = self.get_user()
        if user is None:
            return cleaned
        device = staff_totp_device(user=user)
        if device is None:
            if settings.STAFF_REQUIRE_2FA:
                raise ValidationError(
                    "The admin needs two-factor sign-in: log in on the website, turn it on under "
                    "Account → Two-factor sign-in, then come back.",
                    code="two_factor_required",
                )
            return cleaned
        token = cleaned.get("otp_token") or ""
        if not token:
            raise ValidationError("Enter the 6-digit code from your authenticator app.", code="token_required")
        try:
            staff_totp_verify(device=device, token=token)
        except TwoFactorError as error:
            raise ValidationError(error.message, code="invalid_token") from None
        # django-otp marks the session verified when Django logs this user in.
        user.otp_device = device
        return cleaned
