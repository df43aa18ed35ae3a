"""The filter bar every report shares: a date range, a department and a salesperson. Its choices
are what the user may read, so an id from another department is refused like any wrong choice."""

from datetime import date, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, User
from crm.dates import local_today
from crm.forms import bootstrap_widgets
from ownership.forms import DateRangeMixin

from .selectors import Scope, departments_for, salespeople_for, scope_for

MAX_RANGE_DAYS = 3 * 366


class QuickSelect(forms.Select):
    """A <select> written out in Python: the salesperson filter of a department lists two hundred
    people, and Django's widget templates would render each option through two template includes
    (about a fifth of the dashboard's time)."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        final = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        selected = {str(v) for v in self.format_value(value)}
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (option_value, mark_safe(" selected") if str(option_value) in selected else "", label)
                for option_value, label in self.choices
            ),
        )
        return format_html("<select{}>{}</select>", flatatt(final), options)


class SalespersonChoice(forms.ModelChoiceField):
    widget = QuickSelect

    def label_from_instance(self, obj: User) -> str:
        label = str(obj)
        if not obj.is_active:
            label = _("%(name)s (left)") % {"name": label}
        return label


class ReportFilter(DateRangeMixin, forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("All departments"),
        widget=QuickSelect,
    )
    salesperson = SalespersonChoice(
        label=_("Salesperson"), queryset=User.objects.none(), required=False, empty_label=_("All salespeople")
    )

    def __init__(self, data: Any = None, *, user: User, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.user = user
        departments = departments_for(user)
        if user.is_admin_role or user.is_finance:
            self.fields["department"].queryset = departments
        else:
            # A manager reads its own department: nothing to choose.
            del self.fields["department"]
        self.fields["salesperson"].queryset = salespeople_for(user)
        bootstrap_widgets(self)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and (end - start).days > MAX_RANGE_DAYS:
            self.add_error("date_to", _("Choose at most three years."))
        elif start and not end and (local_today() - start).days > MAX_RANGE_DAYS:
            self.add_error("date_from", _("Choose at most three years."))
        department, person = cleaned.get("department"), cleaned.get("salesperson")
        if department and person and person.department_id != department.pk:
            self.add_error(
                "salesperson", _("%(name)s is not in %(department)s.") % {"name": person, "department": department}
            )
        return cleaned

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(self.data.get(name) not in (None, "") for name in self.fields)

    def scope(self) -> Scope | None:
        """The scope asked for, or None when the input is wrong (the page shows the errors)."""
        if self.is_bound and not self.is_valid():
            return None
        data = self.cleaned_data if self.is_bound else {}
        return scope_for(
            self.user,
            department=data.get("department"),
            salesperson=data.get("salesperson"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )

    @cached_property
    def _params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.is_bound and self.is_valid():
            for name in self.fields:
                value = self.cleaned_data.get(name)
                if value not in (None, ""):
                    params[name] = value.isoformat() if isinstance(value, date) else str(getattr(value, "pk", value))
        return params

    def query(self, **overrides: Any) -> str:
        """The current filters as a query string, with `overrides` (None removes a key): the links
        from a chart to the list behind it carry them (hundreds per page: kept cheap)."""
        params = dict(self._params)
        for key, value in overrides.items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = value.isoformat() if isinstance(value, date) else str(value)
        return urlencode(params)


def week_label(start: date, end: date) -> str:
    return f"{start:%m-%d}–{end:%m-%d}" if start != end else f"{start:%m-%d}"


def last_day(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
