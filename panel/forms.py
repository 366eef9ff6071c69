"""Forms of the customer website.

They check the shape of input only. The order fields are made from their one declaration
(`orders.order_fields`, `orders.order_types`), and what an order needs is decided by
`order_create`, the same code `/api/v2` runs, so the website and the API never disagree; a
refusal (`OrderInvalid`) comes back here to be shown beside the field it names, worded by its code.
"""

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.errors import PanelError
from core.money import RATE_UNIT, money_str
from orders.models import Service
from orders.order_fields import DRIPFEED_FIELDS, FIELDS, Code, FieldKind, OrderField, OrderInvalid
from orders.order_types import SERVICE_FIELD_NAMES, SUBSCRIPTION_HOLD_POSTS, QuantityFrom, order_type_for
from orders.pricing import CATALOG_PRICES, PriceList, service_package_price
from panel.formatting import duration_words, refill_words
from panel.models import User
from panel.services import TwoFactorError, password_reset_mail_queue, staff_totp_device, staff_totp_verify

# The form's order fields: every declared one (drip-feed's runs and interval last, shown by their box).
ORDER_FIELDS: tuple[str, ...] = tuple(name for name in SERVICE_FIELD_NAMES if name not in DRIPFEED_FIELDS)


def _order_widget(spec: OrderField) -> forms.Widget:
    if spec.kind == FieldKind.LIST:
        return forms.Textarea(attrs={"rows": 5, "maxlength": spec.max_length})
    if spec.kind == FieldKind.CHOICE:
        # Every dialect's values; the page's script keeps those of the chosen service's provider.
        choices = [("", gettext("Choose..."))] + [(str(v), _choice_label(v, spec.unit)) for v in spec.all_choices()]
        return forms.Select(choices=choices, attrs={"data-choice": spec.name})
    if spec.kind == FieldKind.NUMBER:
        return forms.NumberInput(attrs={"min": spec.low, "max": spec.high, "step": 1, "inputmode": "numeric"})
    if spec.kind == FieldKind.LINK:
        attrs = {"inputmode": "url", "autocomplete": "off", "placeholder": "https://", "maxlength": spec.max_length}
        return forms.TextInput(attrs=attrs)
    if spec.kind == FieldKind.DATE:
        return forms.TextInput(attrs={"placeholder": "31/12/2026", "autocomplete": "off", "maxlength": 10})
    return forms.TextInput(attrs={"autocomplete": "off", "maxlength": spec.max_length})


def _choice_label(value: int, unit: str) -> str:
    if unit == "minutes":
        return ngettext("%(count)s minute", "%(count)s minutes", value) % {"count": value}
    return f"{value} {unit}" if unit else str(value)


def order_form_field(name: str) -> forms.Field:
    """The website's field for an order parameter, made from its one declaration."""
    spec = FIELDS[name]
    # strip=False: the order rules decide what whitespace means (a comment list keeps its lines).
    return forms.CharField(
        label=spec.label, help_text=spec.help, required=False, strip=False, widget=_order_widget(spec)
    )


def service_rate_unit(service: Service) -> int:
    return getattr(service, "units_per_rate", RATE_UNIT)


def _dialect(service: Service) -> str:
    return service.provider.dialect or "standard"


def service_takes_dripfeed(service: Service) -> bool:
    """Every type that declares runs takes a drip-feed: the provider's own, or one the panel runs."""
    return order_type_for(service.type).takes_dripfeed


def service_order_fields(service: Service) -> list[str]:
    """The order fields a service's type takes at its provider (drip-feed's runs/interval aside), in form order."""
    taken = set(order_type_for(service.type).names(_dialect(service)))
    return [name for name in ORDER_FIELDS if name in taken]


def service_required_fields(service: Service) -> list[str]:
    uses = order_type_for(service.type).uses(_dialect(service))
    return [use.name for use in uses if use.required and use.name not in DRIPFEED_FIELDS]


def service_price_by(service: Service) -> str:
    """How the price follows the form: "package", "quantity", "subscription" or "lines:<field>"."""
    source = order_type_for(service.type).quantity_from
    if source == QuantityFrom.PACKAGE:
        return "package"
    if source in (QuantityFrom.COMMENTS, QuantityFrom.USERNAMES):
        return f"lines:{source.value}"
    return "subscription" if source == QuantityFrom.SUBSCRIPTION else "quantity"


def service_for_js(service: Service, *, prices: PriceList = CATALOG_PRICES) -> dict:
    """What the order page's script needs to show a service and price an order (no cost, no provider).

    `rate` is this customer's own price (orders.pricing): the script prices with it, never the catalog's.
    """
    dialect = _dialect(service)
    kind = order_type_for(service.type)
    return {
        "id": service.pk,
        "name": service.name,
        "category": service.category_id,
        "rate": money_str(prices.rate(service)),
        # The rate is per 1,000 units, or per unit for a product.
        "per": service_rate_unit(service),
        "require": getattr(service, "require", ""),
        "min": service.min,
        "max": service.max,
        "refill": service.refill,
        "cancel": service.cancel,
        "dripfeed": service_takes_dripfeed(service),
        "description": service.description,
        "average_time": duration_words(getattr(service, "average_completion", None)),
        "refill_words": refill_words(service),
        "fields": service_order_fields(service),
        "required": service_required_fields(service),
        "price_by": service_price_by(service),
        "package_price": money_str(service_package_price(service=service, prices=prices)) if kind.is_package else "",
        "hold_posts": SUBSCRIPTION_HOLD_POSTS,
        "choices": {use.name: list(use.field.choices_for(dialect)) for use in kind.uses(dialect) if use.field.choices},
    }


class NewOrderForm(forms.Form):
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        label=_("Service"),
        error_messages={
            "required": _("Choose a service."),
            "invalid_choice": _("That service is not available any more: choose another."),
        },
    )
    dripfeed = forms.BooleanField(required=False, label=_("Drip-feed: deliver in several runs"))

    def __init__(self, *args, services, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services
        for name in (*ORDER_FIELDS, *DRIPFEED_FIELDS):
            self.fields[name] = order_form_field(name)

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
        shown = set(service_order_fields(service)) | {"service"}
        if service_takes_dripfeed(service) and self.cleaned_data.get("dripfeed"):
            shown.update(DRIPFEED_FIELDS)
        field, message = order_error_words(error, bounded=order_type_for(service.type).bounded_fields)
        self.add_error(field if field in shown else None, message)


# How the website words an order refusal, by its code (/api/v2 keeps the protocol's message). `%(name)s`
# is the field's label, `%(limit)s` the bound it broke.
CODE_WORDS = {
    Code.REQUIRED: _("This field is required."),
    Code.NOT_NUMBER: _("%(name)s must be a whole number."),
    Code.NOT_TEXT: _("%(name)s must be plain text, without control characters."),
    Code.TOO_LONG: _("%(name)s is longer than %(limit)s characters."),
    Code.BAD_LINK: _("%(name)s must be a single URL or username without spaces."),
    Code.BAD_DATE: _("%(name)s must be a date as day/month/year, e.g. 31/12/2026."),
    Code.BAD_CHOICE: _("Choose one of the listed values."),
    Code.EMPTY_LIST: _("%(name)s must list at least one line."),
    Code.MIN_ABOVE_MAX: _("The minimum per post must not be more than the maximum per post."),
    Code.NOT_AVAILABLE: _("%(name)s is not available for this service."),
    Code.UNKNOWN_SERVICE: _("That service is not available any more: choose another."),
    Code.OUT_OF_STOCK: _("Product is out of stock."),
    Code.ACTIVE_LINK: _("You already have an active order for this link: wait until it completes."),
}


def order_error_words(error: PanelError, *, bounded: tuple[str, ...] = ()) -> tuple[str | None, str]:
    """(field, message) for the website: the field the refusal names, worded by its code, never by parsing it.

    `bounded` are the fields the service's min and max apply to (its quantity, its list's lines...).
    """
    if not isinstance(error, OrderInvalid):
        return None, error.message
    code, field, limit = error.code, error.field, error.limit
    spec = FIELDS.get(field or "")
    name = str(spec.label) if spec else (field or "").capitalize()
    if code in (Code.BELOW_MIN, Code.ABOVE_MAX) and field in bounded:
        if code == Code.BELOW_MIN:
            return field, gettext("The minimum for this service is %(limit)s.") % {"limit": limit}
        return field, gettext("The maximum for this service is %(limit)s.") % {"limit": limit}
    if code in (Code.BELOW_MIN, Code.ABOVE_MAX) and spec:
        words = {"name": name, "low": spec.low, "high": spec.high}
        if spec.unit == "minutes":
            return field, gettext("%(name)s must be between %(low)s and %(high)s minutes.") % words
        return field, gettext("%(name)s must be between %(low)s and %(high)s.") % words
    if code == Code.BAD_LINK and field == "suggest":
        return field, gettext("%(name)s must list one video link per line.") % {"name": name}
    if code == Code.NOT_AVAILABLE and field in DRIPFEED_FIELDS:
        return field, gettext("Drip-feed is not available for this service.")
    if code in CODE_WORDS:
        return field, str(CODE_WORDS[code]) % {"name": name, "limit": limit}
    return field, error.message[:1].upper() + error.message[1:]


def mass_order_error_words(error: PanelError) -> str:
    """A refused line of a mass order, in the website's words (the line names the service and link itself)."""
    if isinstance(error, OrderInvalid) and error.code == Code.UNKNOWN_SERVICE:
        return gettext("Incorrect service ID")
    if isinstance(error, OrderInvalid) and error.code == Code.REQUIRED and error.field in FIELDS:
        return gettext("%(name)s is required.") % {"name": FIELDS[error.field].label}
    return order_error_words(error, bounded=("quantity",))[1]


class ProductOrderForm(forms.Form):
    """Seed 003's add_product_order on the website: a quantity, and what the product requires of the buyer."""

    def __init__(self, *args, product: Service, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.product = product
        self.fields["quantity"] = order_form_field("quantity")
        self.fields["quantity"].widget.attrs.update({"min": product.min, "max": product.max})
        self.fields["quantity"].initial = product.min
        self.fields["require"] = order_form_field("require")
        if product.require:
            self.fields["require"].help_text = product.require

    def order_data(self) -> dict:
        return {"quantity": self.cleaned_data.get("quantity", ""), "require": self.cleaned_data.get("require", "")}

    def add_order_error(self, error: PanelError) -> None:
        field, message = order_error_words(error, bounded=("quantity",))
        self.add_error(field if field in ("quantity", "require") else None, message)


MASS_ORDER_MAX_LINES = 100  # each line is its own transaction and charge: keep one request short


class MassOrderForm(forms.Form):
    orders = forms.CharField(
        label=_("Orders"),
        help_text=format_lazy(
            _("One order per line: service_id|link|quantity (at most {count} lines)."), count=MASS_ORDER_MAX_LINES
        ),
        widget=forms.Textarea(attrs={"rows": 10, "placeholder": "102|https://instagram.com/p/abc|1000"}),
        error_messages={"required": _("Write at least one order.")},
    )

    def clean_orders(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["orders"].splitlines() if line.strip()]
        if not lines:
            raise ValidationError(gettext("Write at least one order."))
        if len(lines) > MASS_ORDER_MAX_LINES:
            raise ValidationError(
                gettext("At most %(limit)s lines at a time; this has %(count)s.")
                % {"limit": MASS_ORDER_MAX_LINES, "count": len(lines)}
            )
        return lines


def mass_order_line_parse(line: str) -> tuple[str, str, str]:
    """(service_id, link, quantity) from "service_id|link|quantity"; a link may itself hold "|"."""
    service_id, sep, rest = line.partition("|")
    link, sep2, quantity = rest.rpartition("|")
    if not sep or not sep2:
        raise ValueError(gettext("Write the line as service_id|link|quantity."))
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
