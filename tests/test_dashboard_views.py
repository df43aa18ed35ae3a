"""The home pages and reports over HTTP (issue 13): `/` per role, who may open what, a salesperson
never reading a colleague's figures whatever the URL says, filters (bad input is a message, never a
500), links from the charts to the lists behind them with the filters, sortable tables, the Excel
exports with formula escaping, and a constant number of queries over growing data."""

import io
import json
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from accounts import roles
from dashboard.models import SummaryRun
from followups import services as followups
from ownership import services as ownership
from service import services as service

from .dashboard_helpers import NOW, TODAY, build_week, sh
from .factories import ContactFactory, UserFactory
from .helpers import owned_customer, pool_customer
from .sales_helpers import confirm, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def today(time_machine):
    time_machine.move_to(NOW, tick=False)
    return TODAY


def charts_of(response) -> dict[str, dict]:
    """The chart specs the page embeds (json_script), by chart id."""
    html = response.content.decode()
    found = re.findall(r'<script id="(chart-[\w-]+)-data" type="application/json">(.*?)</script>', html, re.S)
    return {chart_id: json.loads(body) for chart_id, body in found}


# --- `/` per role -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "template"),
    [
        ("owner", "dashboard/workbench.html"),
        ("manager", "dashboard/team.html"),
        ("finance", "dashboard/finance.html"),
        ("admin_user", "dashboard/team.html"),
    ],
)
def test_root_is_the_home_page_of_the_role(request, client_for, today, role, template):
    response = client_for(request.getfixturevalue(role)).get("/")
    assert response.status_code == 200
    assert template in [t.name for t in response.templates]


def test_a_user_without_a_role_gets_a_page_saying_so(client_for, today, department):
    nobody = UserFactory(department=department)
    response = client_for(nobody).get("/")
    assert response.status_code == 200
    assert "dashboard/no_role.html" in [t.name for t in response.templates]


def test_after_login_the_home_page_opens(client, today, owner):
    from .factories import DEFAULT_PASSWORD

    response = client.post(reverse("accounts:login"), {"username": owner.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_manager_who_also_sells_reaches_its_workbench(client_for, today, department):
    both = UserFactory(role=[roles.MANAGER, roles.SALESPERSON], department=department)
    client = client_for(both)
    assert "dashboard/team.html" in [t.name for t in client.get("/").templates]
    assert client.get(reverse("dashboard:workbench")).status_code == 200


# --- Whose figures -----------------------------------------------------------------------------------


def test_a_salesperson_never_reads_a_colleagues_figures_by_url(client_for, today, department, owner, teammate, finance):
    theirs = owned_customer(teammate, since=TODAY - timedelta(days=60), name="厦门同事专属客户有限公司")
    confirm(record(theirs, teammate, "7654321.00", day=TODAY), finance, day=TODAY)
    client = client_for(owner)
    for url in (
        f"/?salesperson={teammate.pk}",
        f"{reverse('dashboard:workbench')}?salesperson={teammate.pk}&department={department.pk}",
    ):
        body = client.get(url).content.decode()
        assert "7,654,321" not in body and "厦门同事专属客户有限公司" not in body, url
    for name in ("team", "finance", "movements", "sales", "receivables", "receivables_export", "commission_export"):
        assert client.get(reverse(f"dashboard:{name}") + f"?salesperson={teammate.pk}").status_code == 403, name


def test_a_manager_reads_its_department_only(
    client_for, today, department, other_department, manager, outsider, finance
):
    far = owned_customer(outsider, since=TODAY - timedelta(days=30), name="成都外部门客户有限公司")
    confirm(record(far, outsider, "7654321.00", day=TODAY), finance, day=TODAY)
    client = client_for(manager)
    # Another department's salesperson is not a choice: the form says so and shows no figures.
    response = client.get(f"/?salesperson={outsider.pk}")
    assert response.status_code == 200 and response.context["scope"] is None
    assert response.context["filter"].errors["salesperson"]
    # A department parameter is not even a field for a manager: its own department is read.
    body = client.get(f"/?department={other_department.pk}").content.decode()
    assert "7,654,321" not in body and "成都外部门客户有限公司" not in body
    export = client.get(reverse("dashboard:receivables_export") + f"?department={other_department.pk}")
    assert "成都外部门客户有限公司" not in _xlsx_text(export)
    # Finance reads every department.
    assert "7,654,321" in client_for(finance).get(reverse("dashboard:sales")).content.decode()


def test_finance_reads_sales_figures_but_no_contacts(client_for, today, owner, finance):
    customer = owned_customer(owner, since=TODAY - timedelta(days=10), name="宁波财务可见客户有限公司")
    ContactFactory(customer=customer, phone="13987650001", email="secret.contact@example.cn", wechat="SECRETWX")
    confirm(record(customer, owner, "50000.00", day=TODAY), finance, "20000.00", day=TODAY)
    client = client_for(finance)
    pages = [
        client.get("/"),
        client.get(reverse("dashboard:receivables")),
        client.get(reverse("dashboard:sales")),
        client.get(reverse("dashboard:receivables_export")),
        client.get(reverse("dashboard:commission_export")),
    ]
    texts = [_xlsx_text(r) if r["Content-Type"].startswith("application/vnd") else r.content.decode() for r in pages]
    assert "宁波财务可见客户有限公司" in texts[0] and "宁波财务可见客户有限公司" in texts[3]
    assert "¥30,000.00" in texts[0]  # outstanding
    for text in texts:
        for secret in ("13987650001", "secret.contact@example.cn", "SECRETWX"):
            assert secret not in text
    assert client.get(reverse("dashboard:team")).status_code == 403
    assert client.get(reverse("dashboard:movements")).status_code == 403


# --- Filters, links, sorting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "date_from=2026-13-40",
        "date_from=2026-11-30&date_to=2026-11-01",
        "date_from=2020-01-01&date_to=2026-11-25",
        "salesperson=abc",
        "salesperson=999999999999",
        "date_from=%00",
    ],
)
def test_bad_filters_are_a_message_never_a_500(client_for, today, manager, finance, query):
    for client, url in (
        (client_for(manager), "/"),
        (client_for(finance), "/"),
        (client_for(manager), "/dashboard/sales/"),
    ):
        response = client.get(f"{url}?{query}")
        assert response.status_code == 200
        assert response.context["filter"].errors


def test_chart_links_carry_the_filters(client_for, today, department, owner, teammate, manager):
    build_week(department=department, owner=owner, teammate=teammate, manager=manager)
    response = client_for(manager).get(f"/?date_from=2026-11-09&salesperson={owner.pk}")
    flows = charts_of(response)["chart-flows"]
    assert flows["categories"] == ["11-09–11-15", "11-16–11-22", "11-23–11-25"]
    claimed = next(s for s in flows["series"] if s["key"] == "claimed")
    assert claimed["data"] == [0, -2, -1]  # outflows are drawn below the axis
    # The table's cell under that bar (the script follows it when the bar is clicked).
    chart = next(c for c in response.context["charts"] if c.id == "chart-flows")
    href = next(s for s in chart.series if s.key == "claimed").links[1]
    assert f'<a href="{href.replace("&", "&amp;")}">2</a>' in response.content.decode()
    link = urlparse(href)
    assert link.path == reverse("dashboard:movements")
    assert parse_qs(link.query) == {
        "date_from": ["2026-11-16"],
        "date_to": ["2026-11-22"],
        "salesperson": [str(owner.pk)],
        "flow": ["claimed"],
    }
    # The list behind it holds exactly those rows.
    listed = client_for(manager).get(href)
    assert [e.flow for e in listed.context["page"].items] == ["claimed", "claimed"]
    assert {e.to_owner_id for e in listed.context["page"].items} == {owner.pk}


def test_the_tables_hold_the_charts_numbers(client_for, today, department, owner, teammate, manager):
    build_week(department=department, owner=owner, teammate=teammate, manager=manager)
    response = client_for(manager).get("/?date_from=2026-11-09")
    charts = {chart.id: chart for chart in response.context["charts"]}
    specs = charts_of(response)
    assert set(specs) == {cid for cid, chart in charts.items() if not chart.is_empty}
    for chart_id, spec in specs.items():
        drawn = charts[chart_id].drawn_series
        for series, s in zip(drawn, spec["series"], strict=True):
            assert [abs(v) for v in s["data"]] == [float(abs(v)) for v in series.values], chart_id
    sizes = next(s for s in specs["chart-flows"]["series"] if s["key"] == "size")
    assert sizes["data"] == [4, 7, 6]


def test_receivables_and_commission_sort_and_filter(client_for, today, owner, teammate, finance):
    customer = owned_customer(owner, since=TODAY - timedelta(days=200))
    small = record(customer, owner, "1000.00", day=TODAY - timedelta(days=40))
    confirm(small, finance, "100.00", day=TODAY - timedelta(days=40))
    big = record(customer, owner, "9000.00", day=TODAY - timedelta(days=5))
    confirm(big, finance, "100.00", day=TODAY - timedelta(days=5))
    theirs = owned_customer(teammate, since=TODAY - timedelta(days=30))
    confirm(record(theirs, teammate, "20000.00", day=TODAY - timedelta(days=3)), finance, day=TODAY - timedelta(days=3))
    client = client_for(finance)
    url = reverse("dashboard:receivables")
    assert [o.pk for o in client.get(url).context["page"].items] == [small.pk, big.pk]  # oldest first
    page = client.get(url + "?ordering=-due")
    assert [o.pk for o in page.context["page"].items] == [big.pk, small.pk]
    assert page.context["sorts"]["due"].state == "descending" and page.context["sorts"]["due"].value == "due"
    assert 'aria-sort="descending"' in page.content.decode()
    assert [o.pk for o in client.get(url + "?age=31-60").context["page"].items] == [small.pk]
    assert [o.pk for o in client.get(url + "?ordering=nonsense").context["page"].items] == [small.pk, big.pk]
    # The finance home's commission statement: largest sales first, then by any column.
    home = client.get("/")
    assert [line.salesperson for line in home.context["commission"]] == [teammate, owner]
    home = client.get("/?ordering=salesperson")
    assert [line.salesperson for line in home.context["commission"]] == sorted([owner, teammate], key=str)
    assert home.context["sorts"]["salesperson"].value == "-salesperson"  # a second click sorts the other way


def _xlsx_text(response) -> str:
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return "\n".join(
        "\t".join("" if v is None else str(v) for v in row)
        for ws in book.worksheets
        for row in ws.iter_rows(values_only=True)
    )


def _rows(response) -> list[list]:
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


def test_exports_escape_formulas_and_follow_the_filters(client_for, today, owner, teammate, manager, finance):
    evil = owned_customer(owner, since=TODAY - timedelta(days=30), name='=HYPERLINK("http://x","点我")')
    confirm(
        record(evil, owner, "5000.00", day=TODAY - timedelta(days=3)), finance, "1000.00", day=TODAY - timedelta(days=3)
    )
    other = owned_customer(teammate, since=TODAY - timedelta(days=30), name="厦门蓝海食品有限公司")
    confirm(
        record(other, teammate, "3000.00", day=TODAY - timedelta(days=2)),
        finance,
        "1000.00",
        day=TODAY - timedelta(days=2),
    )
    response = client_for(finance).get(reverse("dashboard:receivables_export"))
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment;")
    rows = _rows(response)
    assert rows[0][0] == "客户"
    names = [r[0] for r in rows[1:]]
    assert '=HYPERLINK("http://x","点我")' in names and "厦门蓝海食品有限公司" in names
    # The name as typed, in a text cell (quotePrefix), never a formula (crm/spreadsheets.py).
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    evil = next(c for row in ws.iter_rows() for c in row if c.value == '=HYPERLINK("http://x","点我")')
    assert evil.data_type == "s" and evil.quotePrefix
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    only_teammate = _rows(
        client_for(manager).get(reverse("dashboard:receivables_export") + f"?salesperson={teammate.pk}")
    )
    assert [r[0] for r in only_teammate[1:]] == ["厦门蓝海食品有限公司"]
    commission = _rows(client_for(finance).get(reverse("dashboard:commission_export") + "?ordering=salesperson"))
    assert commission[0][:3] == ["销售人员", "部门", "月份"]
    assert {r[0] for r in commission[1:]} == {str(owner), str(teammate)}
    assert all(r[2] == "2026-11" for r in commission[1:])


def test_pages_render_when_there_is_nothing(client_for, today, owner, manager, finance, admin_user):
    for user, url in ((owner, "/"), (manager, "/"), (finance, "/"), (admin_user, "/dashboard/finance/")):
        response = client_for(user).get(url)
        assert response.status_code == 200
        assert charts_of(response) == {}  # empty charts are not drawn: they say so
    body = client_for(manager).get("/").content.decode()
    assert 'data-empty-chart="chart-tiers"' in body


# --- A constant number of queries over growing data ------------------------------------------------


def _grow(department, manager, finance, n: int) -> list:
    """n more salespeople, each with customers owned and released, orders confirmed and reversed,
    visits against a plan, overdue service requests, missing notes and unread notifications."""
    people = []
    for i in range(n):
        person = UserFactory(role=roles.SALESPERSON, department=department)
        people.append(person)
        mine = [owned_customer(person, since=TODAY - timedelta(days=d)) for d in (5, 59, 61)]
        confirm(
            record(mine[0], person, "12000.00", day=TODAY - timedelta(days=40)),
            finance,
            "2000.00",
            day=TODAY - timedelta(days=35),
        )
        confirm(
            record(mine[1], person, "8000.00", day=TODAY - timedelta(days=2)), finance, day=TODAY - timedelta(days=1)
        )
        followups.plan_set(
            salesperson=person, month=TODAY.replace(day=1), target_count=8, customer_ids=[mine[0].pk], user=manager
        )
        followups.visit_record(
            customer=mine[0],
            user=person,
            data=followups.VisitInput(
                visited_at=sh(20, 10), channel="visit", discussed="拜访", next_follow_up_on=TODAY - timedelta(days=1)
            ),
            now=NOW,
        )
        service.request_log(
            user=person,
            data=service.RequestInput(kind="complaint", channel="phone", text="投诉"),
            customer=mine[0],
            now=sh(10, 9),
        )
        pooled = pool_customer(department, industry=mine[0].industry, city=mine[0].city, released_on=TODAY)
        ownership.customer_claim(customer=pooled, user=person, now=sh(24, 9 + i % 8))
    from ownership.nightly import nightly_release

    nightly_release(as_of=TODAY, now=sh(25, 1))
    from handovers.services import handover_open
    from sales.models import Order
    from sales.services import payment_confirm

    # An open transfer (R7.2) of one of the first salesperson's customers.
    handover_open(
        kind="transfer",
        leaver=people[0],
        manager=manager,
        reason="position",
        customer_ids=[owned_customer(people[0], since=TODAY - timedelta(days=3)).pk],
        now=sh(25, 8),
    )
    # A payment after the nightly summary: the sales figures correct the summary with it.
    part_paid = Order.objects.filter(salesperson=people[0], status="partly_paid").first()
    payment_confirm(order=part_paid, user=finance, amount=Decimal("1000.00"), received_on=TODAY, now=sh(25, 9))
    return people


# What the pages run today (session, user, roles, the navigation badges included); the same ceiling
# holds for one salesperson and for four, with or without the nightly summary.
QUERY_CEILINGS = {"workbench": 27, "team": 28, "finance": 24}


@pytest.mark.parametrize("size", [1, 4])
def test_home_pages_run_a_constant_number_of_queries(
    client_for, django_assert_max_num_queries, today, department, manager, finance, size
):
    people = _grow(department, manager, finance, size)
    assert SummaryRun.objects.exists()
    for user, page in ((people[0], "workbench"), (manager, "team"), (finance, "finance")):
        client = client_for(user)
        client.get("/")  # sessions and caches warm
        with django_assert_max_num_queries(QUERY_CEILINGS[page]):
            response = client.get("/")
        assert response.status_code == 200, page
    SummaryRun.objects.all().delete()  # before the first nightly summary: live, same ceiling
    client = client_for(manager)
    with django_assert_max_num_queries(QUERY_CEILINGS["team"]):
        assert client.get("/").status_code == 200
