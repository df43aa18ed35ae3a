"""Forms of the collection pages. They validate input; the rules live in collection.services."""

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from crm.forms import bootstrap_widgets
from customers.models import Source

from . import parsing
from .models import InfoReport, ReportStatus, Verdict


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("Excel .xlsx or .csv (UTF-8 or GBK), with a header row; at most 200,000 rows and 30 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv,.txt"}),
    )
    source = forms.ChoiceField(label=_("Source of the list"), choices=[("", "—"), *Source.choices])
    source_detail = forms.CharField(
        label=_("Source details"),
        max_length=200,
        required=False,
        help_text=_("The fair, association or platform, e.g. 2026 深圳电子展."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > parsing.MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB: split it into smaller files."),
                params={"mb": parsing.MAX_FILE_BYTES // 2**20},
            )
        return upload


class MappingForm(forms.Form):
    """Which column of the file holds each field."""

    def __init__(self, data=None, *, headers: list[str], initial: dict[str, Any] | None = None, **kwargs) -> None:
        super().__init__(data, initial=initial, **kwargs)
        choices = [("", _("— not in the file —"))] + [
            (str(i), f"{_column_letter(i)} · {h or '—'}") for i, h in enumerate(headers)
        ]
        for fld, label in parsing.FIELDS.items():
            self.fields[fld] = forms.ChoiceField(label=label, choices=choices, required=False)

    def mapping(self) -> dict[str, Any]:
        return {k: self.cleaned_data.get(k) for k in parsing.FIELDS}


def _column_letter(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def verdict_param(value: Any) -> str | None:
    return value if value in Verdict.values else None


class ReportForm(forms.ModelForm):
    class Meta:
        model = InfoReport
        fields = ["title", "category", "information_needed", "work_plan", "summary", "needs_direction"]
        widgets = {
            "category": forms.TextInput(attrs={"list": "category-options"}),
            "information_needed": forms.Textarea(attrs={"rows": 3}),
            "work_plan": forms.Textarea(attrs={"rows": 3}),
            "summary": forms.Textarea(attrs={"rows": 6}),
            "needs_direction": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "information_needed": _("Step 1: what information is needed."),
            "work_plan": _("Step 1: the work plan."),
            "summary": _("Step 3: the compiled and summarised report (needed to publish)."),
            "needs_direction": _("Step 4: the customer needs direction it concludes (needed to publish)."),
        }


class TaskForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Salesperson"), queryset=User.objects.none())
    text = forms.CharField(label=_("Task"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, data=None, *, salespeople, **kwargs) -> None:
        super().__init__(data, **kwargs)
        self.fields["assignee"].queryset = salespeople


class FindingsForm(forms.Form):
    findings = forms.CharField(
        label=_("Findings"), max_length=20_000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )


class ReportSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"), max_length=100, required=False, widget=forms.TextInput(attrs={"type": "search"})
    )
    category = forms.CharField(label=_("Category"), max_length=60, required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Published and archived")), *ReportStatus.choices]
    )
    date_from = forms.DateField(
        label=_("Published from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Published until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for key in ("date_from", "date_to"):
            value = cleaned.get(key)
            if value is not None and not date(2000, 1, 1) <= value <= date(2999, 12, 31):
                self.add_error(key, _("Enter a date between 2000 and 2999."))
        for key in ("q", "category"):
            if "\x00" in (cleaned.get(key) or ""):
                self.add_error(key, _("Null characters are not allowed."))
        return cleaned

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        bootstrap_widgets(self)  # rendered with _filter_field.html
