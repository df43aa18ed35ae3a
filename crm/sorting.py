"""Sortable column headers of the lists, kept in the URL (?ordering=field or ?ordering=-field).

Each list declares which orderings it offers (and why an index serves them, docs/decisions.md);
this module only turns the current value into the links and `aria-sort` of its column headers,
rendered by templates/_sort_th.html.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Direction = Literal["asc", "desc"]


@dataclass(frozen=True)
class SortLink:
    value: str  # the ?ordering= value the header links to
    state: str  # "ascending", "descending" or "" (aria-sort of the current column)

    @property
    def icon(self) -> str:
        if self.state == "ascending":
            return "bi-sort-up-alt"
        if self.state == "descending":
            return "bi-sort-down"
        return "bi-arrow-down-up"


def sort_links(
    current: str, columns: dict[str, Direction], allowed: Iterable[str] | None = None
) -> dict[str, SortLink]:
    """One link per sortable column: the current column flips its direction (when the list offers
    the other one, `allowed`), the others start in their natural one (`columns` maps a field to
    it: dates newest first, days left fewest first)."""
    offered = set(allowed) if allowed is not None else None
    links = {}
    for field, first in columns.items():
        natural = field if first == "asc" else f"-{field}"
        if current in (field, f"-{field}"):
            flipped = field if current.startswith("-") else f"-{field}"
            state = "descending" if current.startswith("-") else "ascending"
            links[field] = SortLink(value=flipped if offered is None or flipped in offered else current, state=state)
        else:
            links[field] = SortLink(value=natural, state="")
    return links


def ordering_param(value: object, allowed: dict[str, tuple], default: str) -> str:
    """The requested ordering when the list offers it, otherwise its default."""
    return value if isinstance(value, str) and value in allowed else default
