"""Forms of the customer file. They validate input; the rules live in customers.services."""

import re
import unicodedata
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Contact, CreditStatus, Customer, DocumentKind
from .services import CONTACT_FIELDS, CUSTOMER_FIELDS, DocumentInput
from .validators import company_near_key, normalize_credit_code, validate_credit_code

PHONE_MIN_DIGITS = 7
PHONE_MAX_DIGITS = 20


def _phone_digit_count(value: str) -> int:
    return len(re.sub(r"\D", "", unicodedata.normalize("NFKC", value or "")))


def clean_phone_value(value: str) -> str:
    """A phone number is free text (138-0013-8000, +86 10 1234 5678, 0755-1234567 转 8) that
    must hold 7 to 20 digits."""
    value = (value or "").strip()
    if value and not PHONE_MIN_DIGITS <= _phone_digit_count(value) <= PHONE_MAX_DIGITS:
        raise ValidationError(
            _("A phone number has %(min)d to %(max)d digits."),
            code="phone_digits",
            params={"min": PHONE_MIN_DIGITS, "max": PHONE_MAX_DIGITS},
        )
    return value


UNREACHABLE_MESSAGE = _("Give at least one way to reach the contact: a phone, an email or a WeChat ID.")


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = list(CUSTOMER_FIELDS)
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def clean_credit_code(self) -> str | None:
        code = normalize_credit_code(self.cleaned_data.get("credit_code") or "")
        if not code:
            return None
        validate_credit_code(code)
        return code

    def validate_unique(self) -> None:
        # Duplicates (R5.1) are the service's: its message says who owns the existing customer
        # or that it is in the pool, which the generic "already exists" of the model cannot.
        return

    def customer_data(self) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) for k in CUSTOMER_FIELDS}


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = list(CONTACT_FIELDS)

    def clean_phone(self) -> str:
        return clean_phone_value(self.cleaned_data.get("phone", ""))

    def clean_wechat(self) -> str:
        return (self.cleaned_data.get("wechat") or "").strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "phone" in self._errors or "email" in self._errors:
            return cleaned
        if not (cleaned.get("phone") or cleaned.get("email") or cleaned.get("wechat")):
            # On the phone field: the model's own "reachable" constraint is then not checked a
            # second time with a second message.
            self.add_error("phone", UNREACHABLE_MESSAGE)
        return cleaned

    def contact_data(self) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) for k in CONTACT_FIELDS}


class CreditStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("payment credit"), choices=CreditStatus.choices)

    def __init__(self, *args: Any, statuses: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if statuses is not None:  # what this user may set (customers.selectors.credit_statuses_for)
            self.fields["status"].choices = [c for c in CreditStatus.choices if c[0] in statuses]

    note = forms.CharField(
        label=_("reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("Why the credit status changes (kept in the history)."),
    )

    def clean_note(self) -> str:
        note = (self.cleaned_data.get("note") or "").strip()
        if not note:
            raise ValidationError(_("Say why the credit status changes."), code="required")
        return note


class CustomerRegisterForm(CustomerForm):
    """R5.1 registration: the customer and its first contact in one form. A possible duplicate
    written another way (深圳市X / 深圳X) is a warning: the form then asks to confirm that it is
    another company, for the name that was warned about (similar_key)."""

    contact_name = forms.CharField(label=_("contact name"), max_length=60)
    contact_position = forms.CharField(label=_("contact position"), max_length=60, required=False)
    contact_phone = forms.CharField(label=_("contact phone"), max_length=30, required=False)
    contact_email = forms.EmailField(label=_("contact email"), required=False)
    contact_wechat = forms.CharField(label=_("contact WeChat"), max_length=60, required=False)
    confirm_different = forms.BooleanField(
        label=_("It is another company: register it anyway"), required=False, widget=forms.HiddenInput
    )
    similar_key = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.similar: list[dict[str, Any]] = []

    def similar_confirmed(self) -> bool:
        """Confirmed for the name being registered, not for one warned about before an edit."""
        c = self.cleaned_data
        return bool(c.get("confirm_different")) and c.get("similar_key") == company_near_key(c.get("name") or "")

    def warn_similar(self, *, near_key: str, similar: list[dict[str, Any]]) -> None:
        """Show the possible duplicates (each {"text", "url"}) and the box to confirm, unticked."""
        self.similar = similar
        self.fields["confirm_different"].widget = forms.CheckboxInput(attrs={"class": "form-check-input"})
        data = self.data.copy()
        data[self.add_prefix("similar_key")] = near_key
        data.pop(self.add_prefix("confirm_different"), None)
        self.data = data

    class Meta(CustomerForm.Meta):
        pass

    def clean_contact_phone(self) -> str:
        return clean_phone_value(self.cleaned_data.get("contact_phone", ""))

    def clean_contact_wechat(self) -> str:
        return (self.cleaned_data.get("contact_wechat") or "").strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "contact_phone" in self._errors or "contact_email" in self._errors:
            return cleaned
        if not (cleaned.get("contact_phone") or cleaned.get("contact_email") or cleaned.get("contact_wechat")):
            self.add_error("contact_phone", UNREACHABLE_MESSAGE)
        return cleaned

    def contact_data(self) -> dict[str, Any]:
        c = self.cleaned_data
        return {
            "name": (c.get("contact_name") or "").strip(),
            "position": (c.get("contact_position") or "").strip(),
            "phone": c.get("contact_phone") or "",
            "email": c.get("contact_email") or "",
            "wechat": c.get("contact_wechat") or "",
            "is_primary": True,
        }


class DocumentForm(forms.Form):
    """R4.1: the details of a qualification document; the file itself is read by the view (one
    file per request) and checked by customers.services.document_upload."""

    kind = forms.ChoiceField(label=_("kind"), choices=DocumentKind.choices)
    number = forms.CharField(
        label=_("number"),
        max_length=64,
        required=False,
        help_text=_("The licence or registration number (the unified social credit code on a business licence)."),
    )
    valid_from = forms.DateField(label=_("valid from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(
        label=_("valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for a long-term document."),
    )
    file = forms.FileField(
        label=_("file"),
        required=False,  # checked by the view and the service, with their own messages
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}),
        help_text=_("PDF, JPEG or PNG."),
    )

    def clean_valid_from(self) -> date | None:
        return _sane_date(self.cleaned_data.get("valid_from"))

    def clean_valid_until(self) -> date | None:
        return _sane_date(self.cleaned_data.get("valid_until"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("The document cannot expire before it becomes valid."))
        if (
            cleaned.get("kind") in (DocumentKind.BUSINESS_LICENCE, DocumentKind.TAX_REGISTRATION)
            and not (cleaned.get("number") or "").strip()
        ):
            self.add_error("number", _("Give the number of the business licence or tax registration."))
        return cleaned

    def document_input(self) -> DocumentInput:
        c = self.cleaned_data
        return DocumentInput(
            kind=c["kind"],
            number=(c.get("number") or "").strip(),
            valid_from=c.get("valid_from"),
            valid_until=c.get("valid_until"),
        )


def _sane_date(value: date | None) -> date | None:
    if value is not None and not date(1950, 1, 1) <= value <= date(2199, 12, 31):
        raise ValidationError(_("Enter a date between 1950 and 2199."), code="date_range")
    return value
