"""A chart and the table of its numbers, built from one structure so that they always agree.

`Chart.spec()` is what the page embeds with json_script for static/js/dashboard.js, which draws it
with ECharts; the template renders the same categories and series as a table (accessibility,
printing, and the browser tests compare the two). Money is drawn in yuan and written with ¥."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from sales.templatetags.sales_tags import yuan

TOP = 12  # bars of a ranking before the rest are summed into "others"


def cell_text(value: Any, money: bool) -> str:
    if value is None:
        return "—"
    return yuan(value) if money else str(value)


@dataclass
class Series:
    name: str
    values: list[Any]
    stack: str = ""
    kind: str = "bar"  # bar | line
    axis: int = 0  # 1: the second value axis (counts beside amounts)
    drawn: bool = True  # False: a column of the table only
    negative: bool = False  # drawn below the axis (the pool's outflows)
    money: bool = False
    links: list[str] = field(default_factory=list)  # per category, for this series' cells
    summable: bool = True  # False: no total (a level, such as the pool's size)
    key: str = ""  # a stable name for the page's tests and scripts (the name is translated)


@dataclass
class Chart:
    id: str
    title: str
    kind: str  # bar (vertical) | hbar (horizontal, rankings)
    category_label: str
    categories: list[str]
    series: list[Series]
    links: list[str] = field(default_factory=list)  # per category: the list behind it
    list_url: str = ""
    list_label: str = ""
    note: str = ""
    as_of: datetime | None = None
    totals: bool = False  # a total row under the table

    @property
    def is_empty(self) -> bool:
        return not any(v for s in self.series for v in s.values)

    @property
    def drawn_series(self) -> list[Series]:
        return [s for s in self.series if s.drawn]

    def rows(self) -> list[dict[str, Any]]:
        """The table, its cells written out here rather than in the template (a dashboard has a
        thousand of them)."""
        return [
            {
                "label": label,
                "link": self.links[i] if i < len(self.links) else "",
                "cells": [
                    {
                        "text": cell_text(s.values[i], s.money),
                        "drawn": s.drawn,
                        "link": s.links[i] if i < len(s.links) else "",
                    }
                    for s in self.series
                ],
            }
            for i, label in enumerate(self.categories)
        ]

    @property
    def table(self) -> SafeString:
        return table_html(self)

    @property
    def data_id(self) -> str:
        return f"{self.id}-data"

    def total_cells(self) -> list[str]:
        return [
            cell_text(sum(s.values, Decimal(0) if s.money else 0), s.money) if s.summable else "" for s in self.series
        ]

    def spec(self) -> dict[str, Any]:
        def number(value: Any) -> float | int:
            return float(value) if isinstance(value, Decimal) else value

        return {
            "kind": self.kind,
            "categories": self.categories,
            "series": [
                {
                    "key": s.key,
                    "name": s.name,
                    "kind": s.kind,
                    "stack": s.stack,
                    "axis": s.axis,
                    "negative": s.negative,
                    "money": s.money,
                    "data": [-number(v) if s.negative else number(v) for v in s.values],
                }
                for s in self.drawn_series
            ],
        }


def top_with_others(
    rows: list[tuple[Any, list[Any]]], *, top: int = TOP, key_index: int = 0
) -> tuple[list[tuple[Any, list[Any]]], list[Any] | None]:
    """The `top` rows by their value at `key_index` (rows already sorted or not), and the sums of
    the rest (None when nothing is left over)."""
    ranked = sorted(rows, key=lambda r: -r[1][key_index])
    head, rest = ranked[:top], ranked[top:]
    if not rest:
        return head, None
    width = len(rest[0][1])
    return head, [sum((r[1][i] for r in rest), type(rest[0][1][i])(0)) for i in range(width)]


def _linked(text: str, link: str) -> SafeString:
    return format_html('<a href="{}">{}</a>', link, text) if link else format_html("{}", text)


def table_html(chart: Chart) -> SafeString:
    """The table of a chart's numbers. Written here, not in a template: a dashboard holds about a
    thousand cells and the template engine would spend more time on them than the database."""
    head = format_html_join(
        "",
        '<th scope="col" class="col-num"{}>{}</th>',
        ((mark_safe(" data-series") if s.drawn else "", s.name) for s in chart.series),
    )
    body = format_html_join(
        "",
        '<tr><th scope="row" class="fw-normal">{}</th>{}</tr>',
        (
            (
                _linked(row["label"], row["link"]),
                format_html_join(
                    "",
                    '<td class="col-num"{}>{}</td>',
                    (
                        (mark_safe(" data-drawn") if c["drawn"] else "", _linked(c["text"], c["link"]))
                        for c in row["cells"]
                    ),
                ),
            )
            for row in chart.rows()
        ),
    )
    foot = ""
    if chart.totals and len(chart.categories) > 1:
        foot = format_html(
            '<tfoot><tr class="fw-semibold"><th scope="row">{}</th>{}</tr></tfoot>',
            _("Total"),
            format_html_join("", '<td class="col-num">{}</td>', ((text,) for text in chart.total_cells())),
        )
    return format_html(
        '<table class="table table-sm table-hover mb-0 chart-table" data-chart-table="{}">'
        '<caption class="visually-hidden">{}</caption>'
        '<thead class="table-light"><tr><th scope="col">{}</th>{}</tr></thead><tbody>{}</tbody>{}</table>',
        chart.id,
        chart.title,
        chart.category_label,
        head,
        body,
        foot,
    )
