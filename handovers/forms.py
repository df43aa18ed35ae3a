from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Department, User
from crm.forms import bootstrap_widgets

from .models import Kind, Reason, State
from .services import NOTE_MAX

ISO = "%Y-%m-%d"


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return str(obj) if obj.is_active else _("%(name)s (left)") % {"name": obj}


class StartForm(forms.Form):
    """Step one of opening a handover: whose, and which kind (GET, so step two can be linked)."""

    leaver = UserChoiceField(label=_("Salesperson handing over"), queryset=User.objects.none())
    kind = forms.ChoiceField(label=pgettext_lazy("handover", "Kind"), choices=Kind.choices)

    def __init__(self, *args, leavers: QuerySet[User], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["leaver"].queryset = leavers
        bootstrap_widgets(self)


class OpenForm(forms.Form):
    """Step two: a resignation takes every customer; a transfer names its customers and reason."""

    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[(Reason.POSITION, Reason.POSITION.label), (Reason.CUSTOMER_REQUEST, Reason.CUSTOMER_REQUEST.label)],
        required=False,
    )
    customers = forms.MultipleChoiceField(label=_("Customers"), required=False, widget=forms.CheckboxSelectMultiple)
    receiver = forms.ModelChoiceField(
        label=_("Receiving salesperson (optional)"),
        queryset=User.objects.none(),
        required=False,
        help_text=_("Sends every customer to this salesperson at once; otherwise send them from the handover page."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, kind: str, customer_choices: list[tuple[int, str]], receivers: QuerySet[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["customers"].choices = customer_choices
        self.fields["receiver"].queryset = receivers
        if kind == Kind.RESIGNATION:
            for name in ("reason", "customers", "receiver"):
                del self.fields[name]
        else:
            self.fields["reason"].required = True
            self.fields["customers"].required = True
        bootstrap_widgets(self)
        if "customers" in self.fields:
            self.fields["customers"].widget.attrs["class"] = "form-check-input"

    def customer_ids(self) -> list[int] | None:
        if self.kind == Kind.RESIGNATION:
            return None
        return [int(pk) for pk in self.cleaned_data["customers"]]


class NoteForm(forms.Form):
    situation = forms.CharField(
        label=_("Situation"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Where the customer stands: needs, plans, the mood of the last contacts."),
    )
    key_contacts = forms.CharField(
        label=_("Key contacts"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Who decides, who to call, how they like to be reached."),
    )
    stage = forms.CharField(label=_("Stage reached"), max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 2}))
    receivables_note = forms.CharField(
        label=_("Receivables status"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the customer owes money: what is due, what was agreed."),
    )
    promises = forms.CharField(
        label=_("What was promised"), max_length=NOTE_MAX, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Why cancel"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)


class ReportFilterForm(forms.Form):
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.none(), required=False, empty_label=_("All departments")
    )
    person = UserChoiceField(label=_("Person"), queryset=User.objects.none(), required=False, empty_label=_("Everyone"))
    state = forms.ChoiceField(label=_("State"), choices=[("", _("Any state")), *State.choices], required=False)
    kind = forms.ChoiceField(
        label=pgettext_lazy("handover", "Kind"), choices=[("", _("Any kind")), *Kind.choices], required=False
    )
    opened_from = forms.DateField(
        label=_("Opened from"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format=ISO)
    )
    opened_to = forms.DateField(
        label=_("Opened until"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format=ISO)
    )

    def __init__(self, *args, departments: QuerySet[Department] | None, people: QuerySet[User], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if departments is None:
            del self.fields["department"]
        else:
            self.fields["department"].queryset = departments
        self.fields["person"].queryset = people
        bootstrap_widgets(self)
