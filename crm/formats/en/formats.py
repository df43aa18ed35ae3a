# ISO first (see crm/formats/__init__.py); then Django's English input formats.
from django.conf.locale.en import formats as django_en

from crm.formats import ISO_DATE_INPUT_FORMATS, ISO_DATETIME_INPUT_FORMATS, iso_first

DATE_INPUT_FORMATS = iso_first(ISO_DATE_INPUT_FORMATS, django_en.DATE_INPUT_FORMATS)
DATETIME_INPUT_FORMATS = iso_first(ISO_DATETIME_INPUT_FORMATS, django_en.DATETIME_INPUT_FORMATS)
