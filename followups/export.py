"""Excel export of submitted reports (R3.3), for managers (R6.4: exports are for managers)."""

from collections.abc import Iterable
from datetime import date, datetime
from io import BytesIO
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from crm.spreadsheets import xlsx_row

from .models import Channel, Report


def _parse(value: str | None) -> Any:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None) if "T" in value else date.fromisoformat(value)
    except ValueError:
        return value


def _lines(items: list[dict[str, str]]) -> str:
    return "\n".join(f"{item['customer']}: {item['text']}" for item in items)


def reports_workbook(reports: Iterable[Report]) -> bytes:
    """Two sheets: one row per report (its frozen content), and one row per visit in them."""
    wb = Workbook()
    sheet = wb.active
    sheet.title = _("Reports")[:31]
    sheet.append(
        [
            _("Salesperson"),
            _("Department"),
            _("Kind"),
            _("From"),
            _("To"),
            _("Submitted"),
            _("Visits"),
            _("Customers"),
            _("Visits done / target"),
            _("Planned customers visited"),
            _("Main achievements"),
            _("Unsolved problems"),
            _("Suggestions"),
            _("Summary"),
        ]
    )
    visits_sheet = wb.create_sheet(_("Visits")[:31])
    visits_sheet.append(
        [
            _("Salesperson"),
            _("Report"),
            _("Time"),
            _("Customer"),
            _("Contact"),
            _("Channel"),
            _("What was discussed"),
            _("Achievements"),
            _("Problems still unsolved"),
            _("Improvements and suggestions"),
            _("Next follow-up"),
        ]
    )
    channels = dict(Channel.choices)
    for report in reports:
        content = report.content or {}
        progress = content.get("progress", {})
        totals = content.get("totals", {})
        department = report.salesperson.department.name if report.salesperson.department_id else ""
        row = [
            str(report.salesperson),
            department,
            report.get_kind_display(),
            report.period_start,
            report.period_end,
            report.submitted_at,
            totals.get("visits", 0),
            totals.get("customers", 0),
            f"{progress.get('visits_done', 0)} / {progress.get('target', 0)}",
            f"{progress.get('customers_visited', 0)} / {progress.get('customers_planned', 0)}",
            _lines(content.get("achievements", [])),
            _lines(content.get("unsolved_problems", [])),
            _lines(content.get("suggestions", [])),
            report.summary,
        ]
        sheet.append(xlsx_row(sheet, row))
        label = f"{report.get_kind_display()} {report.period_start.isoformat()}"
        for v in content.get("visits", []):
            visits_sheet.append(
                xlsx_row(
                    visits_sheet,
                    (
                        str(report.salesperson),
                        label,
                        _parse(v.get("visited_at")),
                        v.get("customer", ""),
                        v.get("contact", ""),
                        str(channels.get(v.get("channel"), v.get("channel", ""))),
                        v.get("discussed", ""),
                        v.get("achievements", ""),
                        v.get("unsolved_problems", ""),
                        v.get("improvements_suggestions", ""),
                        _parse(v.get("next_follow_up_on")),
                    ),
                )
            )
    for ws in (sheet, visits_sheet):
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for column in ws.columns:
            letter = column[0].column_letter
            ws.column_dimensions[letter].width = 18
            for cell in column[1:]:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                if isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
        ws.freeze_panes = "A2"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
