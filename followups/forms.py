"""Forms of follow-ups. They validate input; the rules live in followups.services."""

from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Contact, Customer

from .models import Channel, ReportKind
from .services import MAX_COMMENT, MAX_TARGET, MAX_TEXT, VisitInput

EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)


def parse_day(value: Any) -> date | None:
    """A YYYY-MM-DD query-string day within years the database stores, or None."""
    try:
        day = date.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        return None
    return day if EARLIEST <= day <= LATEST else None


def parse_month(value: Any) -> date | None:
    """A YYYY-MM (or YYYY-MM-DD) query-string month as its first day, or None."""
    text = str(value or "").strip()
    if len(text) == 7:
        text += "-01"
    day = parse_day(text)
    return day.replace(day=1) if day else None


def parse_kind(value: Any) -> str | None:
    return value if value in ReportKind.values else None


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class VisitForm(forms.Form):
    """R3.2: the visit record. The customer is given by the page it is entered on."""

    visited_at = forms.DateTimeField(label=_("Time"), widget=LocalDateTimeInput())
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.VISIT)
    contact = forms.ModelChoiceField(
        label=_("Contact"), queryset=Contact.objects.none(), required=False, empty_label=_("— none —")
    )
    discussed = forms.CharField(
        label=_("What was discussed"), max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )
    achievements = forms.CharField(
        label=_("Achievements"), max_length=MAX_TEXT, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    unsolved_problems = forms.CharField(
        label=_("Problems still unsolved"),
        max_length=MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    improvements_suggestions = forms.CharField(
        label=_("Improvements and suggestions"),
        max_length=MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    next_follow_up_on = forms.DateField(
        label=_("Next follow-up"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data=None, *, contacts: QuerySet[Contact], prefix_id: str = "", **kwargs) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("visited_at", timezone.localtime().replace(second=0, microsecond=0))
        super().__init__(data, **kwargs)
        self.fields["contact"].queryset = contacts
        if prefix_id:
            self.auto_id = f"{prefix_id}_%s"

    def clean_visited_at(self) -> datetime:
        value = self.cleaned_data["visited_at"]
        if not EARLIEST <= value.date() <= LATEST:
            raise forms.ValidationError(_("Enter a time between 2000 and 2999."))
        return value

    def clean_next_follow_up_on(self) -> date | None:
        value = self.cleaned_data.get("next_follow_up_on")
        if value and not EARLIEST <= value <= LATEST:
            raise forms.ValidationError(_("Enter a date between 2000 and 2999."))
        return value

    def visit_input(self) -> VisitInput:
        d = self.cleaned_data
        return VisitInput(
            visited_at=d["visited_at"],
            channel=d["channel"],
            discussed=d["discussed"],
            achievements=d["achievements"],
            unsolved_problems=d["unsolved_problems"],
            improvements_suggestions=d["improvements_suggestions"],
            next_follow_up_on=d["next_follow_up_on"],
            contact=d["contact"],
        )

    @classmethod
    def initial_from(cls, visit) -> dict[str, Any]:
        return {
            "visited_at": timezone.localtime(visit.visited_at),
            "channel": visit.channel,
            "contact": visit.contact_id,
            "discussed": visit.discussed,
            "achievements": visit.achievements,
            "unsolved_problems": visit.unsolved_problems,
            "improvements_suggestions": visit.improvements_suggestions,
            "next_follow_up_on": visit.next_follow_up_on,
        }


class PlanForm(forms.Form):
    """R3.1: the customers to visit this month and a target count."""

    target_count = forms.IntegerField(label=_("Target number of visits"), min_value=0, max_value=MAX_TARGET)
    customers = forms.ModelMultipleChoiceField(
        label=_("Customers to visit"),
        queryset=Customer.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, data=None, *, customers: QuerySet[Customer], **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.fields["customers"].queryset = customers


class SummaryForm(forms.Form):
    summary = forms.CharField(
        label=_("Summary"),
        max_length=MAX_TEXT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Comment"), max_length=MAX_COMMENT, widget=forms.Textarea(attrs={"rows": 3}))


def week_days(monday: date) -> list[date]:
    return [monday + timedelta(days=i) for i in range(7)]
