"""Project format modules (settings.FORMAT_MODULE_PATH): ISO first for every input format.

A form widget renders a date with the active language's first *_INPUT_FORMATS entry. Django's
Simplified Chinese starts with "%Y/%m/%d", which `<input type="date">` does not accept: the
browser shows the field empty and a form saved unchanged loses its date. With ISO first,
every DateInput (ours, ModelForms', django-filter's) renders 2026-12-05 and every DateTimeInput
2026-12-05T09:30, the value `<input type="datetime-local">` takes, whatever the language. The
localized forms stay accepted when typed. Display formats (DATE_FORMAT …) are untouched: only
the *_INPUT_FORMATS are set here, Django's own module provides the rest.
"""

ISO_DATE_INPUT_FORMATS = ["%Y-%m-%d"]
ISO_DATETIME_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f"]


def iso_first(iso: list[str], others: list[str]) -> list[str]:
    return [*iso, *(f for f in others if f not in iso)]
