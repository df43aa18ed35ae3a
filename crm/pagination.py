"""Paging without COUNT(*) over a million rows, for every list that may grow that large.

A page is `size + 1` rows fetched with LIMIT/OFFSET (the extra row says whether a next page
exists), the page number is bounded, and the total is counted only up to a cap
(SELECT COUNT(*) FROM (… LIMIT cap + 1)), shown as "1,000+" beyond it.
"""

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest

DEFAULT_SIZE = 25
MIN_SIZE = 10
MAX_SIZE = 100
MAX_PAGE = 400
COUNT_CAP = 1000


def int_param(value: Any, *, default: int, low: int, high: int) -> int:
    """A query-string integer clamped to [low, high]; anything malformed is the default."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return max(low, min(high, number))


def id_param(value: Any) -> int | None:
    """A primary key from a form or query string, or None when it is not one (never an error:
    the caller answers 404 or ignores it)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


@dataclass
class CappedPage:
    items: list = field(default_factory=list)
    number: int = 1
    size: int = DEFAULT_SIZE
    has_next: bool = False
    count: int | None = None
    count_capped: bool = False

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.size + len(self.items)

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def capped_page(
    request: HttpRequest, qs: QuerySet, *, default_size: int = DEFAULT_SIZE, sizable: bool = True, count: bool = True
) -> CappedPage:
    """Two queries whatever the page size or number: the page (plus one row) and a capped count."""
    size = DEFAULT_SIZE
    if sizable:
        size = int_param(request.GET.get("size"), default=default_size, low=MIN_SIZE, high=MAX_SIZE)
    number = int_param(request.GET.get("page"), default=1, low=1, high=MAX_PAGE)
    offset = (number - 1) * size
    rows = list(qs[offset : offset + size + 1])
    page = CappedPage(items=rows[:size], number=number, size=size, has_next=len(rows) > size and number < MAX_PAGE)
    if count:
        total = qs.order_by()[: COUNT_CAP + 1].count()
        page.count_capped = total > COUNT_CAP
        page.count = min(total, COUNT_CAP)
    return page
