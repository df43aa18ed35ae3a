"""Date and datetime inputs render ISO values in every language (issue 11: data loss in Chinese).

`<input type="date">` accepts only 2026-12-05 and `<input type="datetime-local">` only
2026-12-05T09:30; with Django's Chinese formats a DateInput rendered 2026/12/05, the browser
showed the field empty and a form saved unchanged lost its date. The fix is project-wide
(crm/formats: ISO first in every language's input formats), so this test walks every form and
filter class of the project: a future form cannot bring the bug back.
"""

import importlib
import pkgutil
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import django_filters
import pytest
from django import forms
from django.conf import settings
from django.utils import translation

PROJECT_PACKAGES = (
    "crm",
    "accounts",
    "notifications",
    "customers",
    "ownership",
    "sales",
    "followups",
    "service",
    "collection",
    "dashboard",
)
DAY = date(2026, 12, 5)
MOMENT = datetime(2026, 12, 5, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def _import_project_modules() -> None:
    for package_name in PROJECT_PACKAGES:
        package = importlib.import_module(package_name)
        for info in pkgutil.walk_packages(package.__path__, package_name + "."):
            if ".migrations" in info.name or info.name.startswith("crm.formats."):
                continue
            importlib.import_module(info.name)


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found.add(sub)
        found |= _subclasses(sub)
    return found


def _ours(cls: type) -> bool:
    return cls.__module__.split(".")[0] in PROJECT_PACKAGES


def _date_fields() -> dict[str, forms.Field]:
    """Every date or datetime field declared by a form or filter class of the project."""
    _import_project_modules()
    fields: dict[str, forms.Field] = {}
    for form_class in filter(_ours, _subclasses(forms.BaseForm)):
        for name, field in form_class.base_fields.items():
            if isinstance(field, (forms.DateField, forms.DateTimeField)):
                fields[f"{form_class.__module__}.{form_class.__name__}.{name}"] = field
    for filterset_class in filter(_ours, _subclasses(django_filters.FilterSet)):
        for name, filter_ in filterset_class.base_filters.items():
            field = filter_.field
            if isinstance(field, (forms.DateField, forms.DateTimeField)):
                fields[f"{filterset_class.__module__}.{filterset_class.__name__}.{name}"] = field
    return fields


def _rendered_value(field: forms.Field, value) -> str:
    html = field.widget.render("f", field.prepare_value(value))
    found = re.search(r'value="([^"]*)"', html)
    assert found, html
    return found.group(1)


@pytest.mark.parametrize("language", [code for code, _name in settings.LANGUAGES])
def test_every_date_and_datetime_input_renders_iso_in_every_language(language) -> None:
    fields = _date_fields()
    # The walk reaches the forms the issue names (it would otherwise pass on nothing).
    for expected in (
        "followups.forms.VisitForm.next_follow_up_on",
        "followups.forms.VisitForm.visited_at",
        "ownership.forms.ExtendForm.new_deadline",
        "sales.forms.PaymentForm.received_on",
        "service.forms.PlanForm.expected_on",
        "service.forms.MoveForm.new_date",
        "customers.forms.DocumentForm.valid_until",
        "collection.forms.ReportSearchForm.date_from",
        "ownership.forms.PoolFilter.released_from",
        "dashboard.forms.ReportFilter.date_from",
    ):
        assert expected in fields, sorted(fields)
    wrong = {}
    with translation.override(language):
        for name, field in fields.items():
            if isinstance(field, forms.DateTimeField):
                value, expected_value = MOMENT, "2026-12-05T09:30"
            else:
                value, expected_value = DAY, "2026-12-05"
            rendered = _rendered_value(field, value)
            if rendered != expected_value:
                wrong[name] = rendered
    assert not wrong, wrong


def test_localized_dates_typed_by_hand_are_still_accepted_in_chinese() -> None:
    with translation.override("zh-hans"):
        assert forms.DateField().clean("2026-12-05") == DAY
        assert forms.DateField().clean("2026/12/05") == DAY
        assert forms.DateField().clean("2026年12月5日") == DAY
        moment = forms.DateTimeField().clean("2026-12-05T09:30")
        assert (moment.date(), moment.hour, moment.minute) == (DAY, 9, 30)


def test_dates_are_still_shown_the_chinese_way_outside_inputs() -> None:
    from django.utils.formats import date_format

    with translation.override("zh-hans"):
        assert date_format(DAY) == "2026年12月5日"
