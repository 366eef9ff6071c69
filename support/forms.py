import re

from django import forms
from django.utils.translation import gettext_lazy as _

from core.ids import id_parse
from core.money import money_form_field
from support.attachments import FORMATS, MAX_ATTACHMENTS
from support.models import NotificationPreference, Ticket
from support.services import MAX_BODY, MAX_ORDERS, MAX_TITLE

ACCEPT = ",".join(content_type for content_type, _extension in FORMATS.values())


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleImageField(forms.FileField):
    """Several files in one input; their content is checked by the service (support.attachments)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleImageInput(attrs={"accept": ACCEPT}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        files = data if isinstance(data, list | tuple) else [data]
        return [single(item, initial) for item in files if item]


def attachments_field() -> MultipleImageField:
    return MultipleImageField(
        label=_("Images"),
        help_text=_("Optional: up to %(count)s screenshots (PNG, JPEG, GIF or WebP).") % {"count": MAX_ATTACHMENTS},
    )


class TicketOpenForm(forms.Form):
    subject_type = forms.ChoiceField(label=_("Subject"), choices=Ticket.SubjectType.choices)
    orders = forms.CharField(
        label=_("Order IDs"),
        required=False,
        max_length=2000,
        help_text=_("For order subjects: your order IDs, separated by commas or spaces."),
    )
    title = forms.CharField(label=_("Title"), max_length=MAX_TITLE)
    body = forms.CharField(label=_("Message"), max_length=MAX_BODY, widget=forms.Textarea(attrs={"rows": 6}))
    attachments = attachments_field()

    def clean_orders(self) -> list[int]:
        text = self.cleaned_data["orders"].strip()
        if not text:
            return []
        parts = [part for part in re.split(r"[\s,;]+", text) if part]
        ids = [id_parse(part) for part in parts]
        if None in ids:
            raise forms.ValidationError(_("Order IDs are numbers separated by commas."))
        if len(set(ids)) > MAX_ORDERS:
            raise forms.ValidationError(_("Name at most %(count)s orders.") % {"count": MAX_ORDERS})
        return ids


class TicketReplyForm(forms.Form):
    body = forms.CharField(label=_("Message"), max_length=MAX_BODY, widget=forms.Textarea(attrs={"rows": 5}))
    attachments = attachments_field()


class TicketAssignForm(forms.Form):
    assigned_to = forms.TypedChoiceField(label=_("Assigned to"), coerce=int, empty_value=None, required=False)

    def __init__(self, *args, handlers=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].choices = [("", _("Nobody"))] + [(user.pk, user.username) for user in handlers]


class NotificationPreferenceForm(forms.ModelForm):
    low_balance_threshold = money_form_field(label=_("Threshold"), required=False, min_value=0)

    class Meta:
        model = NotificationPreference
        fields = ["order_finished", "deposit_credited", "ticket_reply", "low_balance", "low_balance_threshold"]

    def clean(self):
        data = super().clean()
        threshold = data.get("low_balance_threshold")
        if data.get("low_balance") and not threshold:
            self.add_error("low_balance_threshold", _("Give the balance below which we write to you."))
        return data
