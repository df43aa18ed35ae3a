"""Filters of the customer lists, scoped to the requesting user (R6.4)."""

from typing import Literal

import django_filters
from django import forms
from django.db.models import F, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import salespeople_visible_to
from crm.forms import bootstrap_widgets

from .models import CreditStatus, Customer, Industry, Source, Tier
from .services import customer_search_q

ORDERINGS = {
    "name": (F("name").asc(), F("id").asc()),
    "-created_at": (F("created_at").desc(), F("id").desc()),
    "deadline": (F("deadline").asc(nulls_last=True), F("id").asc()),
    "-last_contact_at": (F("last_contact_at").desc(nulls_last=True), F("id").desc()),
}
ORDERING_CHOICES = [
    ("name", _("Name")),
    ("-created_at", _("Newest first")),
    ("deadline", _("Days left (fewest first)")),
    ("-last_contact_at", _("Last contact (most recent first)")),
]
# "My customers" is one salesperson's few hundred rows (cust_owner_deadline serves the default):
# every column people sort by, in both directions.
MINE_ORDERINGS = {
    **ORDERINGS,
    "-name": (F("name").desc(), F("id").desc()),
    "-deadline": (F("deadline").desc(nulls_last=True), F("id").desc()),
    "last_contact_at": (F("last_contact_at").asc(nulls_last=True), F("id").asc()),
    "next_follow_up_on": (F("next_follow_up_on").asc(nulls_last=True), F("id").asc()),
    "-next_follow_up_on": (F("next_follow_up_on").desc(nulls_last=True), F("id").desc()),
    "owned_since": (F("owned_since").asc(nulls_last=True), F("id").asc()),
    "-owned_since": (F("owned_since").desc(nulls_last=True), F("id").desc()),
}
MINE_ORDERING_CHOICES = [
    ("deadline", _("Days left (fewest first)")),
    ("-deadline", _("Days left (most first)")),
    ("name", _("Name")),
    ("-name", _("Name, reversed")),
    ("-last_contact_at", _("Last contact (most recent first)")),
    ("last_contact_at", _("Last contact (longest ago first)")),
    ("next_follow_up_on", _("Next follow-up (soonest first)")),
    ("-next_follow_up_on", _("Next follow-up (latest first)")),
    ("-owned_since", _("Owned since (newest first)")),
    ("owned_since", _("Owned since (oldest first)")),
]
MINE_SORT_COLUMNS: dict[str, Literal["asc", "desc"]] = {
    "name": "asc",
    "deadline": "asc",
    "owned_since": "desc",
    "last_contact_at": "desc",
    "next_follow_up_on": "asc",
}
LIST_SORT_COLUMNS: dict[str, Literal["asc", "desc"]] = {
    "name": "asc",
    "deadline": "asc",
    "last_contact_at": "desc",
    "created_at": "desc",
}
CITY_OPTIONS_LIMIT = 300


class AnyYesNoSelect(forms.NullBooleanSelect):
    """Yes / No / any, keeping the submitted choice selected (NullBooleanSelect's value mapping)."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", _("Any")), ("true", _("Yes")), ("false", _("No"))]


def sees_owners(user: User) -> bool:
    return user.is_manager or user.is_finance or user.is_admin_role


class CustomerFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_search",
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("Name, phone or credit code"), "type": "search"}),
    )
    tier = django_filters.ChoiceFilter(label=_("Tier"), choices=Tier.choices, empty_label=_("All tiers"))
    industry = django_filters.ChoiceFilter(
        label=_("Industry"), choices=Industry.choices, empty_label=_("All industries")
    )
    source = django_filters.ChoiceFilter(label=_("Source"), choices=Source.choices, empty_label=_("All sources"))
    city = django_filters.CharFilter(
        label=_("City"), lookup_expr="exact", max_length=30, widget=forms.TextInput(attrs={"list": "city-options"})
    )
    credit_status = django_filters.ChoiceFilter(
        label=_("Payment credit"), choices=CreditStatus.choices, empty_label=_("Any credit")
    )
    is_problem = django_filters.BooleanFilter(
        label=_("Problem customer"),
        widget=AnyYesNoSelect(),
    )
    in_pool = django_filters.BooleanFilter(
        label=_("In the pool"),
        field_name="owner",
        lookup_expr="isnull",
        widget=AnyYesNoSelect(),
    )
    owner = django_filters.ModelChoiceFilter(
        label=_("Owner"), queryset=User.objects.none(), empty_label=_("All salespeople")
    )
    ordering = django_filters.ChoiceFilter(
        label=_("Sort by"), choices=ORDERING_CHOICES, method="filter_ordering", empty_label=_("Default order")
    )

    class Meta:
        model = Customer
        fields: list[str] = []

    @property
    def form(self):
        """The filter bar's form, with Bootstrap classes on its widgets (_filter_field.html)."""
        form = super().form
        if not getattr(form, "bootstrapped", False):
            bootstrap_widgets(form)
            form.bootstrapped = True
        return form

    def __init__(
        self,
        data=None,
        queryset=None,
        *,
        request=None,
        prefix=None,
        with_owner: bool = True,
        orderings: tuple[dict, list] | None = None,
    ):
        super().__init__(data, queryset, request=request, prefix=prefix)
        self.user = request.user
        self.orderings, choices = orderings or (ORDERINGS, ORDERING_CHOICES)
        self.filters["ordering"].extra["choices"] = choices
        if with_owner and sees_owners(self.user):
            self.filters["owner"].queryset = salespeople_visible_to(self.user)
        else:
            # A salesperson sees only itself and the pool: there is no one to pick.
            del self.filters["owner"]
            del self.filters["in_pool"]

    def filter_search(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return queryset.filter(customer_search_q(value, user=self.user)) if value else queryset

    def filter_ordering(self, queryset: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        return queryset.order_by(*self.orderings[value]) if value in self.orderings else queryset

    @property
    def qs(self) -> QuerySet[Customer]:
        """Malformed input (an unknown choice, an owner out of range, a NUL byte) shows the form's
        errors over an empty list rather than results that ignore part of what was asked."""
        if not hasattr(self, "_qs"):
            if self.is_bound and not self.is_valid():
                self._qs = self.queryset.none()
            else:
                self._qs = super().qs
        return self._qs

    @property
    def city_options(self) -> list[str]:
        """Cities of the listed customers (already scoped to the user), for the city box's suggestions."""
        if not hasattr(self, "_city_options"):
            self._city_options = list(
                self.queryset.exclude(city="")
                .order_by("city")
                .values_list("city", flat=True)
                .distinct()[:CITY_OPTIONS_LIMIT]
            )
        return self._city_options

    def ordering_key(self, default: str) -> str:
        """The ordering in force (for the column headers): the valid requested one, else `default`."""
        value = self.data.get("ordering") if self.is_bound else None
        if value in self.orderings and self.is_valid():
            return value
        return default

    @property
    def active_count(self) -> int:
        """How many filters besides the search box are set (shown on the phone's filter toggle)."""
        if not self.is_bound:
            return 0
        names = [name for name in self.filters if name not in ("q", "ordering")]
        return sum(1 for name in names if self.data.get(name) not in (None, ""))

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(
            self.data.get(name) not in (None, "") for name in self.filters if name != "ordering"
        )
