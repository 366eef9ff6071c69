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
from django.utils.translation import gettext_lazy as _

from core.errors import PanelError
from core.money import RATE_UNIT, money_str
from orders.models import Service
from orders.order_fields import DRIPFEED_FIELDS, FIELDS, Code, FieldKind, OrderField, OrderInvalid
from orders.order_types import SERVICE_FIELD_NAMES, SUBSCRIPTION_HOLD_POSTS, QuantityFrom, order_type_for
from orders.pricing import service_package_price
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
        unit = f" {spec.unit}" if spec.unit else ""
        choices = [("", "Choose...")] + [(str(v), f"{v}{unit}") for v in spec.all_choices()]
        return forms.Select(choices=choices, attrs={"data-choice": spec.name})
    if spec.kind == FieldKind.NUMBER:
        return forms.NumberInput(attrs={"min": spec.low, "max": spec.high, "step": 1, "inputmode": "numeric"})
    if spec.kind == FieldKind.LINK:
        attrs = {"inputmode": "url", "autocomplete": "off", "placeholder": "https://", "maxlength": spec.max_length}
        return forms.TextInput(attrs=attrs)
    if spec.kind == FieldKind.DATE:
        return forms.TextInput(attrs={"placeholder": "31/12/2026", "autocomplete": "off", "maxlength": 10})
    return forms.TextInput(attrs={"autocomplete": "off", "maxlength": spec.max_length})


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


def service_for_js(service: Service) -> dict:
    """What the order page's script needs to show a service and price an order (no cost, no provider)."""
    dialect = _dialect(service)
    kind = order_type_for(service.type)
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
        "average_time": duration_words(getattr(service, "average_completion", None)),
        "refill_words": refill_words(service),
        "fields": service_order_fields(service),
        "required": service_required_fields(service),
        "price_by": service_price_by(service),
        "package_price": money_str(service_package_price(service=service)) if kind.is_package else "",
        "hold_posts": SUBSCRIPTION_HOLD_POSTS,
        "choices": {use.name: list(use.field.choices_for(dialect)) for use in kind.uses(dialect) if use.field.choices},
    }


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


def order_error_words(error: PanelError, *, bounded: tuple[str, ...] = ()) -> tuple[str | None, str]:
    """(field, message) for the website: the field the refusal names, worded by its code, never by parsing it.

    `bounded` are the fields the service's min and max apply to (its quantity, its list's lines...).
    """
    if not isinstance(error, OrderInvalid):
        return None, error.message
    code, field = error.code, error.field
    if code == Code.REQUIRED and field:
        return field, "This field is required."
    if code in (Code.BELOW_MIN, Code.ABOVE_MAX) and field in bounded:
        word = "minimum" if code == Code.BELOW_MIN else "maximum"
        return field, f"The {word} for this service is {error.limit}."
    if code == Code.ACTIVE_LINK:
        return field, "You already have an active order for this link: wait until it completes."
    if code == Code.UNKNOWN_SERVICE:
        return field, "That service is not available any more: choose another."
    return field, error.message[:1].upper() + error.message[1:]


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
