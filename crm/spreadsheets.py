"""Spreadsheet output shared by the exports (R6.4: exports are for managers).

`safe_cell` protects against formula (CSV) injection: text that starts with = + - @, a tab or a
carriage return would be read as a formula by Excel or WPS, so it is written with a leading
apostrophe, as a literal. Characters an .xlsx cannot hold (C0 controls) are dropped."""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: Any) -> Any:
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        return "'" + value if value.startswith(FORMULA_START) else value
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    return value


def xlsx_bytes(*, title: str, header: list[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """One sheet, header in bold, streamed through openpyxl's write-only mode (constant memory
    per row, so 100,000 rows are fine)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31] or "Sheet1")
    bold = Font(bold=True)
    cells = []
    for text in header:
        cell = WriteOnlyCell(ws, value=safe_cell(str(text)))
        cell.font = bold
        cells.append(cell)
    ws.append(cells)
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def xlsx_response(*, filename: str, title: str, header: list[str], rows: Iterable[Iterable[Any]]) -> HttpResponse:
    response = HttpResponse(xlsx_bytes(title=title, header=header, rows=rows), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(header: list[str], rows: Iterable[Iterable[Any]]) -> Iterator[bytes]:
    writer = csv.writer(_Echo())
    # A BOM so that Excel opens the UTF-8 file with its Chinese text intact.
    yield "\ufeff".encode() + writer.writerow([safe_cell(str(h)) for h in header]).encode()
    for row in rows:
        values = []
        for v in row:
            v = safe_cell(v)
            values.append("" if v is None else (v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v))
        yield writer.writerow(values).encode()


def csv_response(*, filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
