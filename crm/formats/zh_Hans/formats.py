# ISO first (see crm/formats/__init__.py); then the forms people type in Chinese. Django's own
# "%Y年%n月%j日" reads %n as whitespace and %j as the day of the year: written here as meant.
from crm.formats import ISO_DATE_INPUT_FORMATS, ISO_DATETIME_INPUT_FORMATS, iso_first

DATE_INPUT_FORMATS = iso_first(ISO_DATE_INPUT_FORMATS, ["%Y/%m/%d", "%Y年%m月%d日"])
DATETIME_INPUT_FORMATS = iso_first(
    ISO_DATETIME_INPUT_FORMATS,
    [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S.%f",
        "%Y/%m/%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y年%m月%d日 %H:%M",
        "%Y年%m月%d日 %H:%M:%S",
    ],
)
