"""Forms of the sales pages. They parse input and give clear messages; the rules live in
sales.services (the amount checks are the services' own)."""

import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from crm.errors import DomainError
from crm.forms import bootstrap_widgets

from .models import SalesSettings
from .services import clean_amount, validate_sales_settings

EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)


class MoneyField(forms.Field):
    """An amount of yuan as people type it: "12500", "12,500.00", "¥12,500", full-width digits.
    Always a Decimal, never a float."""

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})

    def to_python(self, value: Any) -> Decimal | None:
        text = unicodedata.normalize("NFKC", str(value or "")).strip()
        if len(text) > 40:
            raise ValidationError(_("Enter the amount as a number of yuan, such as 12500.00."), code="invalid")
        for ch in ("¥", "￥", ",", "，", " ", "元", "RMB", "CNY"):
            text = text.replace(ch, "")
        if not text:
            return None
        try:
            amount = Decimal(text)
        except (InvalidOperation, ValueError) as exc:
            raise ValidationError(_("Enter the amount as a number of yuan, such as 12500.00."), code="invalid") from exc
        try:
            return clean_amount(amount)
        except DomainError as exc:
            raise ValidationError(exc.message, code="invalid") from exc


class DayField(forms.DateField):
    widget = forms.DateInput(attrs={"type": "date"})

    def to_python(self, value: Any) -> date | None:
        day = super().to_python(value)
        if day and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise ValidationError(_("Enter a date between 1900 and 2999."), code="invalid")
        return day


class OrderForm(forms.Form):
    amount = MoneyField(label=_("amount (¥)"), help_text=_("The order's total in yuan, such as 12500.00."))
    deal_date = DayField(label=_("deal date"))
    description = forms.CharField(
        label=_("lines or description"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )

    def clean_description(self) -> str:
        value = (self.cleaned_data.get("description") or "").strip()
        if not value:
            raise ValidationError(_("Describe what was sold (lines or a description)."), code="required")
        return value


class PaymentForm(forms.Form):
    amount = MoneyField(label=_("amount received (¥)"))
    received_on = DayField(label=_("date received"))


class ReverseForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_reason(self) -> str:
        value = (self.cleaned_data.get("reason") or "").strip()
        if not value:
            raise ValidationError(_("Write why the confirmation is reversed."), code="required")
        return value


class QueueFilter(forms.Form):
    """Finance's queue filters: a GET form; invalid input shows its errors over an empty list."""

    salesperson = forms.ModelChoiceField(
        label=_("salesperson"), queryset=User.objects.none(), required=False, empty_label=_("All salespeople")
    )
    q = forms.CharField(
        label=_("customer"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Name, phone or credit code")}),
    )
    date_from = DayField(label=_("deal date from"), required=False)
    date_to = DayField(label=_("deal date to"), required=False)

    def __init__(self, data=None, *, salespeople, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.fields["salesperson"].queryset = salespeople
        bootstrap_widgets(self)  # rendered with _filter_field.html

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned


class SalesSettingsForm(forms.ModelForm):
    vip_threshold = MoneyField(label=_("VIP / Special VIP from (¥)"))
    a_threshold = MoneyField(label=_("tier A from (¥)"))
    b_threshold = MoneyField(label=_("tier B from (¥)"))
    window_months = forms.IntegerField(label=_("window (months)"), min_value=1, max_value=60)
    commission_rate = forms.DecimalField(
        label=_("commission rate"),
        min_value=Decimal(0),
        max_value=Decimal("0.5"),
        max_digits=5,
        decimal_places=4,
        help_text=_("Share of confirmed sales, e.g. 0.03 for 3%."),
    )

    class Meta:
        model = SalesSettings
        fields = ["vip_threshold", "a_threshold", "b_threshold", "window_months", "commission_rate"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors:
            try:
                validate_sales_settings(self.settings_data())
            except DomainError as exc:
                raise ValidationError(exc.message) from exc
        return cleaned

    def settings_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class HoldForm(forms.Form):
    salesperson = forms.ModelChoiceField(label=_("salesperson"), queryset=User.objects.none())
    reason = forms.CharField(label=_("reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, data=None, *, salespeople, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.fields["salesperson"].queryset = salespeople

    def clean_reason(self) -> str:
        value = (self.cleaned_data.get("reason") or "").strip()
        if not value:
            raise ValidationError(_("Write why the commission is held."), code="required")
        return value
