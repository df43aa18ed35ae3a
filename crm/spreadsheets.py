"""Spreadsheet output shared by every export (R6.4: exports are for managers).

Formula (CSV) injection: text that starts with = + - @, a tab or a carriage return would be read
as a formula by Excel or WPS.
- In an .xlsx such text is written as a text cell (`t="inlineStr"`, never a formula) with the
  quotePrefix style, which also keeps it text when someone edits the cell: `xlsx_row`. The reader
  sees exactly what was typed, no apostrophe.
- A CSV has no cell types, so there it gets a leading apostrophe, as a literal: `csv_cell`.
Characters an .xlsx cannot hold (C0 controls) are dropped from both."""

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    return value


def csv_cell(value: Any) -> Any:
    """A value for a CSV file: formula-like text gets a leading apostrophe."""
    value = _clean(value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def xlsx_row(ws: Any, values: Iterable[Any]) -> list[Any]:
    """A row for `ws.append` (write-only or normal worksheet): formula-like text as a text cell
    with quotePrefix, anything else as its value."""
    row: list[Any] = []
    for value in values:
        value = _clean(value)
        if isinstance(value, str) and value.startswith(FORMULA_START):
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"  # openpyxl would make "=…" a formula
            cell.quotePrefix = True
            row.append(cell)
        else:
            row.append(value)
    return row


def xlsx_bytes(*, title: str, header: list[str], rows: Iterable[Iterable[Any]]) -> bytes:
    """One sheet, header in bold, streamed through openpyxl's write-only mode (constant memory
    per row, so 100,000 rows are fine)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31] or "Sheet1")
    bold = Font(bold=True)
    cells = []
    for value in xlsx_row(ws, [str(text) for text in header]):
        cell = value if isinstance(value, Cell) else WriteOnlyCell(ws, value=value)
        cell.font = bold
        cells.append(cell)
    ws.append(cells)
    for row in rows:
        ws.append(xlsx_row(ws, row))
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
    yield "\ufeff".encode() + writer.writerow([csv_cell(str(h)) for h in header]).encode()
    for row in rows:
        values = []
        for v in row:
            v = csv_cell(v)
            values.append("" if v is None else (v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v))
        yield writer.writerow(values).encode()


def csv_response(*, filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
