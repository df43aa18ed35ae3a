"""Sections of the customer file contributed by higher apps.

The customer page lives on floor 2, but ownership, sales and follow-ups (floors 3 and 4) add to
it. Higher apps register a section in their AppConfig.ready(); this module never imports them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class QuickAction:
    """A main action of the customer page, offered in the thumb bar at the foot of a phone's
    screen. A section puts its own in its context under "quick_actions"."""

    label: str
    url: str
    icon: str  # a Bootstrap icon name, "bi-…"
    order: int = 50  # left to right
    post: bool = False  # a POST form (with CSRF) rather than a link
    style: str = "outline-primary"


@dataclass(frozen=True)
class Section:
    key: str
    template: str
    order: int
    context: Callable[[HttpRequest, Any], dict[str, Any] | None]  # None hides the section


_sections: dict[str, Section] = {}


def register(section: Section) -> None:
    _sections[section.key] = section


def quick_actions(sections: list[tuple[Section, dict[str, Any]]], extra: list[QuickAction]) -> list[QuickAction]:
    actions = [*extra, *(a for _section, ctx in sections for a in ctx.get("quick_actions", ()))]
    return sorted(actions, key=lambda a: a.order)[:4]


def render_context(request: HttpRequest, customer: Any) -> list[tuple[Section, dict[str, Any]]]:
    out = []
    for section in sorted(_sections.values(), key=lambda s: s.order):
        ctx = section.context(request, customer)
        if ctx is not None:
            out.append((section, ctx))
    return out
