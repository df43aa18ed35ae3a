"""Forms of customer service. They validate input; the rules live in service.services."""

from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, User
from customers.forms import clean_phone_value

from .models import RequestChannel, RequestKind, ServiceSettings
from .services import NOTE_MAX, STANDARD_MAX_DAYS, TEXT_MAX, RequestInput

EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)


def _text(label, *, max_length: int = NOTE_MAX, rows: int = 3, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label, max_length=max_length, widget=forms.Textarea(attrs={"rows": rows}), help_text=help_text
    )


class DayField(forms.DateField):
    widget = forms.DateInput(attrs={"type": "date"})

    def to_python(self, value: Any) -> date | None:
        day = super().to_python(value)
        if day is not None and not EARLIEST <= day <= LATEST:
            raise ValidationError(_("Enter a valid date."), code="invalid")
        return day


class RequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("type"), choices=RequestKind.choices)
    channel = forms.ChoiceField(label=_("channel"), choices=RequestChannel.choices)
    text = _text(
        _("what the customer asks for"),
        max_length=TEXT_MAX,
        rows=5,
        help_text=_("As the customer said it. It cannot be edited once submitted; later words are notes."),
    )
    caller_name = forms.CharField(label=_("caller"), max_length=60, required=False)
    caller_phone = forms.CharField(label=_("caller's phone"), max_length=30, required=False)
    caller_company = forms.CharField(label=_("caller's company"), max_length=200, required=False)
    register = forms.BooleanField(
        label=_("Register the caller as a new customer (first inquiry)"),
        required=False,
    )

    def __init__(
        self, *args, known_customer: bool = False, can_register: bool = True, picked: bool = False, **kwargs
    ) -> None:
        """known_customer: the form comes from the customer's page (no caller company, no
        registration); picked: a customer was chosen in the form's search (R6.1)."""
        super().__init__(*args, **kwargs)
        self.known_customer = known_customer
        self.picked = picked
        if known_customer:
            for name in ("caller_company", "register"):
                del self.fields[name]
        elif not can_register:
            # Registering needs a department's pool and a sales role (R5.1): finance logs the
            # request with the caller's details only.
            del self.fields["register"]

    def clean_caller_phone(self) -> str:
        return clean_phone_value(self.cleaned_data.get("caller_phone", ""))

    def clean_text(self) -> str:
        text = (self.cleaned_data.get("text") or "").strip()
        if not text:
            raise ValidationError(_("Write down what the customer asked for."), code="required")
        return text

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.known_customer or self.picked or cleaned.get("register"):
            return cleaned
        if not any((cleaned.get(k) or "").strip() for k in ("caller_name", "caller_phone", "caller_company")):
            self.add_error(
                "caller_name", _("Say who is asking: the caller's name, phone or company, or register the customer.")
            )
        return cleaned

    def request_input(self) -> RequestInput:
        c = self.cleaned_data
        return RequestInput(
            kind=c["kind"],
            channel=c["channel"],
            text=c["text"],
            caller_name=(c.get("caller_name") or "").strip(),
            caller_phone=c.get("caller_phone") or "",
            caller_company=(c.get("caller_company") or "").strip(),
        )


class NoteForm(forms.Form):
    prefix = "note"

    text = _text(_("note"))


class SolveForm(forms.Form):
    prefix = "solve"

    text = _text(_("how it was solved"), help_text=_("What you did or told the customer; the request closes."))


class ReferForm(forms.Form):
    prefix = "refer"

    department = forms.ModelChoiceField(label=_("department"), queryset=Department.objects.none(), required=False)
    person = forms.ModelChoiceField(label=_("person"), queryset=User.objects.none(), required=False)
    reason = _text(_("reason told to the customer"))

    def __init__(self, *args, people=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.order_by("name")
        self.fields["person"].queryset = people if people is not None else User.objects.none()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("department") and not cleaned.get("person") and not self.errors:
            self.add_error("department", _("Refer the request to a department or a person."))
        return cleaned


class PlanForm(forms.Form):
    prefix = "plan"

    expected_on = DayField(label=_("expected resolution date"))
    told_customer = _text(_("plan as told to the customer"))


class MoveForm(forms.Form):
    prefix = "move"

    new_date = DayField(label=_("new expected date"))
    reason = _text(_("reason"), help_text=_("Why the date moves; kept in the timeline."))


class CloseForm(forms.Form):
    prefix = "close"

    text = _text(_("how it was solved"))


class HelperForm(forms.Form):
    prefix = "helper"

    helper = forms.ModelChoiceField(label=_("helper"), queryset=User.objects.none())

    def __init__(self, *args, candidates=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["helper"].queryset = candidates if candidates is not None else User.objects.none()


class ServiceSettingsForm(forms.ModelForm):
    class Meta:
        model = ServiceSettings
        fields = list(ServiceSettings.DEFAULTS)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in self.fields:
            self.fields[name].min_value = 0
            self.fields[name].max_value = STANDARD_MAX_DAYS
            self.fields[name].validators = [
                *self.fields[name].validators,
                *forms.IntegerField(min_value=0, max_value=STANDARD_MAX_DAYS).validators,
            ]
            self.fields[name].help_text = _("Calendar days from the day a request is logged.")


STATUS_FILTERS = ("open", "overdue", "closed", "all")
