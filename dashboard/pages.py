"""The charts of each page, from the figures of dashboard/selectors.py, with their labels and the
links to the list behind each bar (the report's filters carried in the URL)."""

from datetime import date
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from customers.models import Tier
from ownership.selectors import POOL_INFLOWS, POOL_OUTFLOWS, PoolFlow
from service.models import RequestKind

from . import selectors
from .charts import TOP, Chart, Series, top_with_others
from .forms import ReportFilter, last_day, week_label
from .models import PROBLEM

TIER_ORDER = [Tier.VIP, Tier.SPECIAL_VIP, Tier.A, Tier.B, Tier.C]
ALWAYS_SHOWN_FLOWS = {
    PoolFlow.RULE,
    PoolFlow.HAND,
    PoolFlow.PROBLEM,
    PoolFlow.IMPORTED,
    PoolFlow.CLAIMED,
    PoolFlow.ASSIGNED,
}


@lru_cache(maxsize=256)
def _path(name: str, args: tuple, prefix: str) -> str:
    # URL patterns do not change while the process runs, and a page builds hundreds of links.
    return reverse(name, args=args)


def _url(name: str, query: str = "", *args: Any) -> str:
    url = _path(name, tuple(args), get_script_prefix())
    return f"{url}?{query}" if query else url


def _tier_labels() -> list[tuple[str, str]]:
    return [(str(t), str(t.label)) for t in TIER_ORDER] + [(PROBLEM, _("Problem customers"))]


def _others() -> str:
    return pgettext("the rest of a ranking", "Others")


def month_label(month: date) -> str:
    return f"{month:%Y-%m}"


def age_label(key: str) -> str:
    low, _sep, high = key.partition("-")
    if key.endswith("+"):
        return _("over %(days)s days") % {"days": key.rstrip("+")}
    return _("%(low)s–%(high)s days") % {"low": low, "high": high}


# --- Manager dashboard ---------------------------------------------------------------------------


def tiers_chart(counts: selectors.CustomerCounts, form: ReportFilter, scope: selectors.Scope) -> Chart:
    owned: dict[str, int] = {}
    pooled: dict[str, int] = {}
    for row in counts.rows:
        target = pooled if row.owner_id is None else owned
        for tier, n in row.tiers.items():
            target[tier] = target.get(tier, 0) + n
    labels = _tier_labels()
    owner_q = {"owner": scope.salesperson_id} if scope.salesperson_id else {}

    def customers_link(tier: str, in_pool: bool) -> str:
        query = _tier_query(tier)
        if in_pool:
            # The pool's filter bar takes the department, not our date range or salesperson.
            return _url("ownership:pool", form.query(date_from=None, date_to=None, salesperson=None, **query))
        return _url("customers:list", _query(in_pool="false", **owner_q, **query))

    return Chart(
        id="chart-tiers",
        title=_("Customers by tier"),
        kind="bar",
        category_label=_("Tier"),
        categories=[label for _key, label in labels],
        series=[
            Series(
                _("Owned"),
                [owned.get(k, 0) for k, _label in labels],
                stack="n",
                links=[customers_link(k, False) for k, _label in labels],
            ),
            Series(
                _("In the pool"),
                [pooled.get(k, 0) for k, _label in labels],
                stack="n",
                links=[customers_link(k, True) for k, _label in labels],
            ),
        ],
        links=[
            _url("customers:list", _query(**({"is_problem": "true"} if k == PROBLEM else {"tier": k})))
            for k, _l in labels
        ],
        list_url=_url("customers:list"),
        list_label=_("All customers"),
        as_of=counts.as_of,
        totals=True,
    )


def _tier_query(tier: str) -> dict[str, str]:
    return {"is_problem": "true"} if tier == PROBLEM else {"tier": tier}


def _query(**params: Any) -> str:
    return urlencode({key: str(value) for key, value in params.items() if value not in (None, "")})


def owners_chart(counts: selectors.CustomerCounts, names: dict[int, str]) -> Chart:
    labels = _tier_labels()
    per_owner = [
        (row.owner_id, [*(row.tiers[key] for key, _label in labels), row.total, row.unsold])
        for row in counts.rows
        if row.owner_id is not None
    ]
    head, rest = top_with_others(per_owner, key_index=len(labels))
    categories = [names.get(pk, "?") for pk, _v in head]
    links = [_url("customers:list", _query(owner=pk)) for pk, _v in head]
    rows = [v for _pk, v in head]
    if rest is not None:
        categories.append(_others())
        links.append("")
        rows.append(rest)
    series = [
        Series(label, [r[i] for r in rows], stack="n", links=[_cell(links, j) for j in range(len(rows))])
        for i, (_k, label) in enumerate(labels)
    ]
    series.append(Series(_("Total"), [r[len(labels)] for r in rows], drawn=False))
    series.append(Series(_("Without a sale"), [r[len(labels) + 1] for r in rows], drawn=False))
    return Chart(
        id="chart-owners",
        title=_("Customers by owner"),
        kind="hbar",
        category_label=_("Owner"),
        categories=categories,
        series=series,
        links=links,
        note=_("The %(n)d salespeople with the most customers.") % {"n": TOP} if rest is not None else "",
        as_of=counts.as_of,
        totals=True,
    )


def _cell(links: list[str], i: int) -> str:
    return links[i] if i < len(links) else ""


def flows_chart(flows: selectors.PoolFlows, form: ReportFilter) -> Chart:
    shown = [
        f
        for f in (*POOL_INFLOWS, *POOL_OUTFLOWS)
        if f in ALWAYS_SHOWN_FLOWS or any(w.counts.get(str(f)) for w in flows.weeks)
    ]

    def link(week: selectors.FlowWeek, flow: str | None) -> str:
        return _url("dashboard:movements", form.query(date_from=week.start, date_to=week.end, flow=flow))

    series = [
        Series(
            str(f.label),
            [w.counts.get(str(f), 0) for w in flows.weeks],
            stack="out" if f in POOL_OUTFLOWS else "in",
            negative=f in POOL_OUTFLOWS,
            links=[link(w, str(f)) for w in flows.weeks],
            key=str(f),
        )
        for f in shown
    ]
    series.append(Series(_("In"), [w.inflow for w in flows.weeks], drawn=False))
    series.append(Series(_("Out"), [w.outflow for w in flows.weeks], drawn=False))
    if flows.size_now is not None:
        series.append(
            Series(
                _("Pool size at the end"),
                [w.size_end for w in flows.weeks],
                kind="line",
                axis=1,
                summable=False,
                key="size",
            )
        )
    return Chart(
        id="chart-flows",
        title=_("The pool: weekly inflow and outflow"),
        kind="bar",
        category_label=_("Week"),
        categories=[week_label(w.start, w.end) for w in flows.weeks],
        series=series,
        links=[link(w, None) for w in flows.weeks],
        list_url=_url("dashboard:movements", form.query()),
        list_label=_("All movements"),
        note=""
        if flows.size_now is not None
        else _(
            "The pool belongs to the department: narrowed to one salesperson, "
            "these are the customers it released or lost, claimed or was given."
        ),
    )


def releases_chart(data: selectors.Releases, names: dict[int, str]) -> Chart:
    per_owner: dict[int, list[int]] = {}
    for owner_id, night, n in data.rows:
        values = per_owner.setdefault(owner_id, [0] * (len(data.nights) + 1))
        values[data.nights.index(night)] += n
        values[-1] += n
    head, rest = top_with_others(list(per_owner.items()), key_index=len(data.nights))
    rows = [v for _pk, v in head] + ([rest] if rest is not None else [])
    owners: list[int | None] = [pk for pk, _v in head] + ([None] if rest is not None else [])

    def day_link(night: date, owner: int | None) -> str:
        if owner is None:
            return _url("ownership:preview_day", "", night.isoformat())
        return _url("ownership:preview_day", _query(owner=owner), night.isoformat())

    series = [
        Series(f"{night:%m-%d}", [r[i] for r in rows], stack="n", links=[day_link(night, o) for o in owners])
        for i, night in enumerate(data.nights)
    ]
    series.append(Series(_("Total"), [r[-1] for r in rows], drawn=False))
    return Chart(
        id="chart-releases",
        title=_("Releases of the next 7 nights"),
        kind="hbar",
        category_label=_("Owner"),
        categories=[names.get(pk, "?") if pk else _others() for pk in owners],
        series=series,
        links=[_url("ownership:preview") for _o in owners],
        list_url=_url("ownership:preview"),
        list_label=_("Upcoming releases"),
        as_of=data.as_of,
        totals=True,
    )


def missing_chart(data: selectors.MissingNotes, names: dict[int, str]) -> Chart:
    head, rest = top_with_others([(pk, [n]) for pk, n in data.rows])
    owners: list[int | None] = [pk for pk, _v in head] + ([None] if rest is not None else [])
    values = [v[0] for _pk, v in head] + ([rest[0]] if rest is not None else [])
    links = [_url("ownership:missing_notes", _query(former_owner=pk)) if pk else "" for pk in owners]
    return Chart(
        id="chart-missing-notes",
        title=_("Release notes still missing"),
        kind="hbar",
        category_label=_("Former owner"),
        categories=[names.get(pk, "?") if pk else _others() for pk in owners],
        series=[Series(_("Missing notes"), values, links=links)],
        links=links,
        list_url=_url("ownership:missing_notes"),
        list_label=_("Releases without a note"),
        as_of=data.as_of,
        totals=True,
    )


def visits_chart(data: selectors.VisitProgress, names: dict[int, str]) -> Chart:
    rows = [(pk, [p.target, p.visits_done, p.customers_planned, p.customers_visited]) for pk, p in data.rows]
    rows.sort(key=lambda r: (-r[1][0], -r[1][1], names.get(r[0], "")))
    head, rest = rows[:TOP], rows[TOP:]
    people: list[int | None] = [pk for pk, _v in head]
    values = [v for _pk, v in head]
    if rest:
        people.append(None)
        values.append([sum(r[1][i] for r in rest) for i in range(4)])
    link = _url("followups:team_plans", _query(month=f"{data.month:%Y-%m}"))
    return Chart(
        id="chart-visits",
        title=_("Visits against plan, %(month)s") % {"month": f"{data.month:%Y-%m}"},
        kind="hbar",
        category_label=_("Salesperson"),
        categories=[names.get(pk, "?") if pk else _others() for pk in people],
        series=[
            Series(_("Visits"), [v[1] for v in values]),
            Series(_("Target"), [v[0] for v in values]),
            Series(_("Planned customers"), [v[2] for v in values], drawn=False),
            Series(_("Planned customers visited"), [v[3] for v in values], drawn=False),
        ],
        links=[link for _p in people],
        list_url=link,
        list_label=_("Team visit plans"),
        note=_("Visits from the 1st to %(day)s.") % {"day": f"{data.until:%m-%d}"},
        totals=True,
    )


def sales_month_chart(months: list[selectors.MonthSales], form: ReportFilter, scope: selectors.Scope) -> Chart:
    start, end = scope.months()
    links = [
        _url("dashboard:sales", form.query(date_from=max(m.month, start), date_to=min(last_day(m.month), end)))
        for m in months
    ]
    return Chart(
        id="chart-sales-months",
        title=_("Confirmed sales by month"),
        kind="bar",
        category_label=_("Month"),
        categories=[month_label(m.month) for m in months],
        series=[
            Series(_("Amount"), [m.amount for m in months], money=True, links=links),
            Series(_("Orders"), [m.count for m in months], kind="line", axis=1),
        ],
        links=links,
        list_url=_url("dashboard:sales", form.query(date_from=start, date_to=end)),
        list_label=_("Confirmed sales"),
        totals=True,
    )


def sales_people_chart(
    rows: list[selectors.GroupSales], names: dict[int, str], form: ReportFilter, scope: selectors.Scope
) -> Chart:
    start, end = scope.months()
    head, rest = top_with_others([(r.key, [r.amount, r.count]) for r in rows])
    people: list[int | None] = [pk for pk, _v in head] + ([None] if rest is not None else [])
    values = [v for _pk, v in head] + ([rest] if rest is not None else [])
    links = [
        _url("dashboard:sales", form.query(salesperson=pk, date_from=start, date_to=end)) if pk else "" for pk in people
    ]
    return Chart(
        id="chart-sales-people",
        title=_("Confirmed sales by salesperson"),
        kind="hbar",
        category_label=_("Salesperson"),
        categories=[names.get(pk, "?") if pk else _others() for pk in people],
        series=[
            Series(_("Amount"), [v[0] for v in values], money=True, links=links),
            Series(_("Orders"), [v[1] for v in values], drawn=False),
        ],
        links=links,
        note=_("%(start)s to %(end)s.") % {"start": start.isoformat(), "end": end.isoformat()},
        totals=True,
    )


def sales_departments_chart(
    rows: list[selectors.GroupSales], departments: dict[int, str], form: ReportFilter, scope: selectors.Scope
) -> Chart:
    start, end = scope.months()
    links = [_url("dashboard:sales", form.query(department=r.key, date_from=start, date_to=end)) for r in rows]
    return Chart(
        id="chart-sales-departments",
        title=_("Confirmed sales by department"),
        kind="hbar",
        category_label=_("Department"),
        categories=[departments.get(r.key, "?") for r in rows],
        series=[
            Series(_("Amount"), [r.amount for r in rows], money=True, links=links),
            Series(_("Orders"), [r.count for r in rows], drawn=False),
        ],
        links=links,
        note=_("%(start)s to %(end)s.") % {"start": start.isoformat(), "end": end.isoformat()},
        totals=True,
    )


def ageing_chart(rows: list[selectors.AgeRow], form: ReportFilter) -> Chart:
    links = [_url("dashboard:receivables", form.query(age=r.key)) for r in rows]
    return Chart(
        id="chart-ageing",
        title=_("Receivables ageing"),
        kind="bar",
        category_label=_("Days since the sale"),
        categories=[age_label(r.key) for r in rows],
        series=[
            Series(_("Outstanding"), [r.amount for r in rows], money=True, links=links),
            Series(_("Orders"), [r.count for r in rows], kind="line", axis=1),
        ],
        links=links,
        list_url=_url("dashboard:receivables", form.query()),
        list_label=_("All receivables"),
        totals=True,
    )


def service_chart(rows: list[selectors.RequestKindCount]) -> Chart:
    labels = dict(RequestKind.choices)
    open_links = [_url("service:list", _query(status="open", kind=r.kind)) for r in rows]
    late_links = [_url("service:list", _query(status="overdue", kind=r.kind)) for r in rows]
    return Chart(
        id="chart-service",
        title=_("Open service requests"),
        kind="bar",
        category_label=_("Type"),
        categories=[str(labels[r.kind]) for r in rows],
        series=[
            Series(pgettext("service requests", "Open"), [r.open for r in rows], links=open_links),
            Series(_("Overdue"), [r.overdue for r in rows], links=late_links),
        ],
        links=open_links,
        list_url=_url("service:list", _query(status="overdue")),
        list_label=_("Overdue requests"),
        totals=True,
    )


def handovers_chart(rows: list[selectors.OpenHandover]) -> Chart:
    """R7: each open handover, its items done and still to do; the oldest first."""
    head = rows[:TOP]
    rest = rows[TOP:]
    categories = [f"{r.handover.leaver} · {r.handover.get_kind_display()}" for r in head]
    links = [_url("handovers:detail", "", r.handover.pk) for r in head]
    done = [r.done for r in head]
    left = [r.items - r.done for r in head]
    if rest:
        categories.append(_others())
        links.append(_url("handovers:list"))
        done.append(sum(r.done for r in rest))
        left.append(sum(r.items - r.done for r in rest))
    return Chart(
        id="chart-handovers",
        title=_("Open handovers"),
        kind="hbar",
        category_label=_("Handover"),
        categories=categories,
        series=[
            Series(_("Items done"), done, stack="n", links=links),
            Series(_("Items to do"), left, stack="n", links=links),
        ],
        links=links,
        list_url=_url("handovers:list"),
        list_label=_("Handovers"),
        totals=True,
    )


def team_charts(form: ReportFilter, scope: selectors.Scope) -> list[Chart]:
    counts = selectors.customer_counts(scope)
    flows = selectors.pool_flows(scope)
    upcoming = selectors.releases(scope)
    missing = selectors.missing_notes(scope)
    visits = selectors.visit_progress(scope)
    sales = selectors.sales_figures(scope, "salesperson")
    by_month, by_person = sales.months, sales.groups
    people: set[int | None] = {row.owner_id for row in counts.rows}
    people |= {o for o, _d, _n in upcoming.rows} | {o for o, _n in missing.rows}
    people |= {pk for pk, _p in visits.rows} | {r.key for r in by_person}
    names = selectors.names_of(people)
    return [
        tiers_chart(counts, form, scope),
        owners_chart(counts, names),
        flows_chart(flows, form),
        releases_chart(upcoming, names),
        missing_chart(missing, names),
        visits_chart(visits, names),
        sales_month_chart(by_month, form, scope),
        sales_people_chart(by_person, names, form, scope),
        ageing_chart(selectors.receivables_ageing(scope), form),
        service_chart(selectors.open_requests(scope)),
        handovers_chart(selectors.open_handovers(scope)),
    ]


def finance_charts(form: ReportFilter, scope: selectors.Scope) -> list[Chart]:
    sales = selectors.sales_figures(scope, "department")
    names = selectors.department_names({r.key for r in sales.groups})
    return [
        ageing_chart(selectors.receivables_ageing(scope), form),
        sales_month_chart(sales.months, form, scope),
        sales_departments_chart(sales.groups, names, form, scope),
    ]


# --- The workbench ---------------------------------------------------------------------------------


def workbench_sales_chart(bench: selectors.Workbench) -> Chart:
    link = reverse("sales:orders")
    return Chart(
        id="chart-my-sales",
        title=_("My confirmed sales"),
        kind="bar",
        category_label=_("Month"),
        categories=[month_label(m.month) for m in bench.sales_months],
        series=[
            Series(_("Amount"), [m.amount for m in bench.sales_months], money=True),
            Series(_("Orders"), [m.count for m in bench.sales_months], drawn=False),
        ],
        links=[link for _m in bench.sales_months],
        list_url=link,
        list_label=_("My orders"),
        totals=True,
    )
