"""Forms of the pool and of ownership. They validate input; the rules live in ownership.services."""

from datetime import date, timedelta
from typing import Any, Literal

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, User
from accounts.selectors import salespeople_visible_to
from crm.dates import start_of_local_day
from crm.forms import bootstrap_widgets
from customers.models import Customer, Industry, ReleaseReason, Source, Tier
from customers.services import customer_search_q

from .models import PoolSettings

# --- The pool's filter bar (R5.7) ------------------------------------------------------------

# Each ordering ends on the primary key, so that LIMIT/OFFSET pages never overlap, and each is
# served by a partial pool index read forwards or backwards: every pool index ends on
# (-released_at, -id), so both directions of "in the pool since" come straight out of whichever
# index the filters pick, and the name in both directions out of cust_pool_name. No whole-pool
# sort at a million rows; tier, industry and the like are filters, not sorts (docs/decisions.md).
POOL_ORDERINGS: dict[str, tuple] = {
    "-released_at": (F("released_at").desc(), F("id").desc()),
    "released_at": (F("released_at").asc(), F("id").asc()),
    "name": (F("name").asc(), F("id").asc()),
    "-name": (F("name").desc(), F("id").desc()),
}
POOL_ORDERING_CHOICES = [
    ("-released_at", _("Newest in the pool first")),
    ("released_at", _("Longest in the pool first")),
    ("name", _("Name")),
    ("-name", _("Name, reversed")),
]
# The sortable column headers of the pool and their first direction.
POOL_SORT_COLUMNS: dict[str, Literal["asc", "desc"]] = {"released_at": "desc", "name": "asc"}
YES_NO_ANY = [("", _("Any")), ("yes", _("Yes")), ("no", _("No"))]


def _with_blank(choices, label) -> list[tuple[str, Any]]:
    return [("", label), *choices]


def _day_range_q(field: str, start: date | None, end: date | None) -> Q:
    """Local (Asia/Shanghai) calendar days `start`..`end` inclusive of a datetime field."""
    q = Q()
    if start:
        q &= Q(**{f"{field}__gte": start_of_local_day(start)})
    if end:
        q &= Q(**{f"{field}__lt": start_of_local_day(end + timedelta(days=1))})
    return q


EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)


class DateRangeMixin:
    """`<prefix>_from` ≤ `<prefix>_to`, each optional, within years the database stores
    (0001-01-01 in Asia/Shanghai is before the first UTC datetime)."""

    range_fields: tuple[str, str] = ("date_from", "date_to")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        for name in self.range_fields:
            value = cleaned.get(name)
            if value and not EARLIEST_DAY <= value <= LATEST_DAY:
                self.add_error(name, _("Enter a date between 1900 and 2999."))  # type: ignore[attr-defined]
                cleaned.pop(name, None)
        start, end = (cleaned.get(name) for name in self.range_fields)
        if start and end and start > end:
            self.add_error(self.range_fields[1], _("The end date is before the start date."))  # type: ignore[attr-defined]
        return cleaned


class PoolFilter(DateRangeMixin, forms.Form):
    """The filter bar of the pool: a GET form. Invalid input shows its errors over an empty list
    (never a 500, never results that silently ignore part of what was asked)."""

    range_fields = ("released_from", "released_to")

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("Name, phone or credit code"), "type": "search"}),
    )
    department = forms.ModelChoiceField(
        label=_("department"), queryset=Department.objects.none(), required=False, empty_label=_("All departments")
    )
    tier = forms.ChoiceField(label=_("tier"), required=False, choices=_with_blank(Tier.choices, _("All tiers")))
    industry = forms.ChoiceField(
        label=_("industry"), required=False, choices=_with_blank(Industry.choices, _("All industries"))
    )
    source = forms.ChoiceField(label=_("source"), required=False, choices=_with_blank(Source.choices, _("All sources")))
    city = forms.CharField(
        label=_("city"), required=False, max_length=30, widget=forms.TextInput(attrs={"list": "city-options"})
    )
    release_reason = forms.ChoiceField(
        label=_("why in the pool"), required=False, choices=_with_blank(ReleaseReason.choices, _("Any reason"))
    )
    released_from = forms.DateField(
        label=_("in the pool since"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    released_to = forms.DateField(
        label=_("in the pool until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    is_problem = forms.ChoiceField(label=_("problem customer"), required=False, choices=YES_NO_ANY)
    ordering = forms.ChoiceField(label=_("Sort by"), required=False, choices=POOL_ORDERING_CHOICES)

    def __init__(self, data=None, *, user: User, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.user = user
        if user.is_admin_role or user.is_finance:
            self.fields["department"].queryset = Department.objects.order_by("name")
        else:
            del self.fields["department"]
        bootstrap_widgets(self)  # rendered field by field with _filter_field.html, not crispy

    def clean_q(self) -> str:
        return (self.cleaned_data.get("q") or "").strip()

    def clean_city(self) -> str:
        return (self.cleaned_data.get("city") or "").strip()

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(
            self.data.get(name) not in (None, "") for name in self.fields if name != "ordering"
        )

    @property
    def active_count(self) -> int:
        """How many filters besides the search box are set (shown on the phone's filter toggle)."""
        if not self.is_bound:
            return 0
        return sum(1 for name in self.fields if name not in ("q", "ordering") and self.data.get(name) not in (None, ""))

    @property
    def ordering_key(self) -> str:
        if self.is_bound and self.is_valid():
            value = self.cleaned_data.get("ordering")
            if value in POOL_ORDERINGS:
                return value
        return "-released_at"

    def filter(self, qs: QuerySet[Customer]) -> QuerySet[Customer]:
        """The filtered and ordered pool; none at all when the input is invalid."""
        if self.is_bound and not self.is_valid():
            return qs.none()
        data = self.cleaned_data if self.is_bound else {}
        if data.get("q"):
            qs = qs.filter(customer_search_q(data["q"], user=self.user))
        if data.get("department"):
            qs = qs.filter(department=data["department"])
        for name in ("tier", "industry", "source", "city", "release_reason"):
            if data.get(name):
                qs = qs.filter(**{name: data[name]})
        if data.get("released_from") or data.get("released_to"):
            qs = qs.filter(_day_range_q("released_at", data.get("released_from"), data.get("released_to")))
        if data.get("is_problem") == "yes":
            qs = qs.filter(is_problem=True)
        elif data.get("is_problem") == "no":
            qs = qs.filter(is_problem=False)
        return qs.order_by(*POOL_ORDERINGS[self.ordering_key])


class ReleaseLogFilter(DateRangeMixin, forms.Form):
    range_fields = ("date_from", "date_to")

    reason = forms.ChoiceField(
        label=_("reason"), required=False, choices=_with_blank(ReleaseReason.choices, _("Any reason"))
    )
    date_from = forms.DateField(label=_("from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filter(self, qs: QuerySet) -> QuerySet:
        if self.is_bound and not self.is_valid():
            return qs.none()
        data = self.cleaned_data if self.is_bound else {}
        if data.get("reason"):
            qs = qs.filter(reason=data["reason"])
        if data.get("date_from") or data.get("date_to"):
            qs = qs.filter(_day_range_q("at", data.get("date_from"), data.get("date_to")))
        return qs.order_by("-at", "-id")

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(self.data.get(name) not in (None, "") for name in self.fields)


# --- Ownership changes -----------------------------------------------------------------------


def _required_text(form: forms.Form, name: str, message) -> str:
    value = (form.cleaned_data.get(name) or "").strip()
    if not value:
        raise ValidationError(message, code="required")
    return value


class ReleaseNoteForm(forms.Form):
    """R7.3: where things stand, written by the owner before the customer returns to the pool."""

    situation = forms.CharField(
        label=_("customer situation"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What the customer does, needs and buys; where the business stands."),
    )
    contact_details = forms.CharField(
        label=_("contact details"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Who to talk to and how to reach them."),
    )
    communication_level = forms.CharField(
        label=_("how far communication went"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Quotes, samples, visits, objections: what the next owner should know."),
    )

    def clean_situation(self) -> str:
        return _required_text(self, "situation", _("Describe the customer's situation."))

    def clean_contact_details(self) -> str:
        return _required_text(self, "contact_details", _("Give the contact details."))

    def clean_communication_level(self) -> str:
        return _required_text(self, "communication_level", _("Say how far communication went."))


class AssignForm(forms.Form):
    """R5.6: a manager hands a pool customer to a salesperson of the customer's department."""

    to_user = forms.ModelChoiceField(label=_("salesperson"), queryset=User.objects.none())
    relationship = forms.BooleanField(
        label=_("relationship customer"),
        required=False,
        initial=True,
        help_text=_("A manager's acquaintance or a customer the company developed; otherwise a plain assignment."),
    )
    introduced_by = forms.CharField(label=_("introduced by"), max_length=100, required=False)
    note = forms.CharField(label=_("note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, data=None, *, user: User, customer: Customer, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.fields["to_user"].queryset = salespeople_visible_to(user).filter(department_id=customer.department_id)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        cleaned["introduced_by"] = (cleaned.get("introduced_by") or "").strip()
        cleaned["note"] = (cleaned.get("note") or "").strip()
        if cleaned.get("relationship") and not cleaned["introduced_by"]:
            self.add_error("introduced_by", _("Say who introduced this relationship customer."))
        return cleaned


class ProblemForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_reason(self) -> str:
        return _required_text(self, "reason", _("Write the reason."))


class ExtendForm(forms.Form):
    """R5.11: once per ownership, by at most one month, with a reason."""

    new_deadline = forms.DateField(label=_("new deadline"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_reason(self) -> str:
        return _required_text(self, "reason", _("Write why the deadline is extended."))


SETTING_BOUNDS = {
    "max_unsold": (0, 100_000),
    "max_unsold_probation": (0, 100_000),
    "daily_claim_cap": (0, 1000),
    "reclaim_cooloff_days": (0, 3650),
    "warning_days": (1, 90),
}


class PoolSettingsForm(forms.ModelForm):
    class Meta:
        model = PoolSettings
        fields = [
            "max_unsold",
            "max_unsold_probation",
            "daily_claim_cap",
            "reclaim_cooloff_days",
            "warning_days",
            "mask_pool_contacts",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, (low, high) in SETTING_BOUNDS.items():
            field = self.fields[name]
            field.min_value, field.max_value = low, high
            field.validators = [v for v in field.validators if not isinstance(v, MinValueValidator | MaxValueValidator)]
            field.validators += [MinValueValidator(low), MaxValueValidator(high)]
            field.widget.attrs.update({"min": low, "max": high})

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        normal, probation = cleaned.get("max_unsold"), cleaned.get("max_unsold_probation")
        if normal is not None and probation is not None and probation > normal:
            self.add_error(
                "max_unsold_probation", _("Probation staff cannot have a higher limit than other salespeople.")
            )
        return cleaned

    def settings_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}
