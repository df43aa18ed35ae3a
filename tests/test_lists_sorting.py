"""Issue 14, lists: the columns people sort by (days left, release date, amount, due date …) in
the pool, my customers, service requests and receivables; sort and filters kept in the URL and in
the pagination links; and the pool offers only orderings an index serves at a million rows."""

import re
from datetime import date, timedelta
from html import unescape

import pytest
from django.db import connection
from django.urls import reverse

from crm.sorting import SortLink, ordering_param, sort_links
from customers.models import Customer, ReleaseReason, Tier
from ownership.forms import POOL_ORDERINGS, POOL_SORT_COLUMNS, PoolFilter
from ownership.selectors import pool_visible_to
from service.models import RequestStatus, ServiceRequest

from .helpers import at, owned_customer, pool_customer
from .sales_helpers import confirm, record

pytestmark = pytest.mark.django_db

POOL = reverse("ownership:pool")
MINE = reverse("customers:mine")


def names_in(html: str, names: list[str]) -> list[str]:
    """The given names in the order the page shows them."""
    return sorted((n for n in names if n in html), key=html.index)


def href_of_header(html: str, label: str) -> str:
    match = re.search(r'<a class="link-body-emphasis[^"]*" href="([^"]+)">' + re.escape(label), html)
    assert match, label
    return unescape(match.group(1))


# --- The helper ------------------------------------------------------------------------------


def test_sort_links_flip_the_current_column_and_start_the_others_in_their_natural_direction():
    links = sort_links("-released_at", {"released_at": "desc", "name": "asc", "deadline": "asc"})
    assert links["released_at"] == SortLink(value="released_at", state="descending")
    assert links["name"] == SortLink(value="name", state="")
    assert links["deadline"].value == "deadline"
    assert sort_links("name", {"name": "asc"})["name"] == SortLink(value="-name", state="ascending")
    # A list that does not offer the reverse keeps the link on the current ordering.
    assert sort_links("name", {"name": "asc"}, allowed={"name"})["name"].value == "name"
    assert sort_links("", {"created_at": "desc"})["created_at"].value == "-created_at"


def test_ordering_param_accepts_only_what_the_list_offers():
    allowed = {"due_on": (), "-due_on": ()}
    assert ordering_param("-due_on", allowed, "due_on") == "-due_on"
    for bad in ("id; drop", "", None, ["due_on"], "-due"):
        assert ordering_param(bad, allowed, "due_on") == "due_on"


# --- The pool ------------------------------------------------------------------------------------


@pytest.fixture
def pool_rows(department):
    rows = {}
    for i, name in enumerate(["丙公司", "甲公司", "乙公司"]):
        rows[name] = pool_customer(department, name=name, released_on=date(2026, 1, 1) + timedelta(days=i * 3))
    return rows


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("", ["乙公司", "甲公司", "丙公司"]),  # newest in the pool first
        ("-released_at", ["乙公司", "甲公司", "丙公司"]),
        ("released_at", ["丙公司", "甲公司", "乙公司"]),
        ("name", sorted(["丙公司", "甲公司", "乙公司"])),
        ("-name", sorted(["丙公司", "甲公司", "乙公司"], reverse=True)),
    ],
)
def test_the_pool_sorts_by_release_date_and_name(client_for, owner, pool_rows, ordering, expected):
    html = client_for(owner).get(POOL, {"ordering": ordering} if ordering else {}).content.decode()
    assert names_in(html, list(pool_rows)) == expected


def test_the_pools_headers_link_to_the_other_direction_and_keep_the_filters(client_for, owner, pool_rows):
    html = client_for(owner).get(POOL, {"tier": "c", "ordering": "released_at"}).content.decode()
    assert 'aria-sort="ascending"' in html
    link = href_of_header(html, "入池时间")
    assert "ordering=-released_at" in link and "tier=c" in link
    name_link = href_of_header(html, "客户")
    assert "ordering=name" in name_link and "tier=c" in name_link


def test_the_pools_pages_keep_sort_and_filters(client_for, owner, department):
    for i in range(12):
        pool_customer(department, name=f"公司{i:02d}", released_on=date(2026, 1, 1) + timedelta(days=i))
    html = client_for(owner).get(POOL, {"size": 10, "ordering": "name", "tier": "c"}).content.decode()
    nxt = unescape(re.search(r'href="([^"]+)" rel="next"', html).group(1))
    assert "page=2" in nxt and "ordering=name" in nxt and "tier=c" in nxt and "size=10" in nxt
    page2 = client_for(owner).get(POOL + nxt).content.decode()
    assert "公司10" in page2 and "公司11" in page2 and "公司00" not in page2


def test_an_unknown_pool_ordering_is_an_error_over_an_empty_list_not_a_500(client_for, owner, pool_rows):
    response = client_for(owner).get(POOL, {"ordering": "owner__password"})
    assert response.status_code == 200
    assert not names_in(response.content.decode(), list(pool_rows))


def test_every_pool_ordering_is_served_by_a_pool_index_forwards_or_backwards():
    """The structure the million-row pool relies on (docs/decisions.md): each offered ordering,
    alone or under any single filter of the bar, matches the columns of a partial pool index
    (WHERE owner_id IS NULL) after its equality prefix, read in one direction."""
    indexes = [ix for ix in Customer._meta.indexes if str(ix.condition) == str(Customer._meta.indexes[0].condition)]

    def columns(ix) -> list[tuple[str, bool]]:
        return [(f.lstrip("-"), f.startswith("-")) for f in ix.fields]

    def served(ordering: str, equal: list[str]) -> bool:
        wanted = [(e.expression.name, e.descending) for e in POOL_ORDERINGS[ordering]]
        for ix in indexes:
            cols = columns(ix)
            if [c for c, _d in cols[: len(equal)]] != equal:
                continue
            rest = cols[len(equal) :]
            if [c for c, _d in rest] != [c for c, _d in wanted]:
                continue
            same = all(d == w for (_c, d), (_c2, w) in zip(rest, wanted, strict=True))
            flipped = all(d != w for (_c, d), (_c2, w) in zip(rest, wanted, strict=True))
            if same or flipped:
                return True
        return False

    for ordering in POOL_ORDERINGS:
        assert served(ordering, ["department"]), ordering
    for field in ("tier", "industry", "city", "source", "release_reason"):
        for ordering in ("-released_at", "released_at"):
            assert served(ordering, ["department", field]), (field, ordering)
    assert set(POOL_SORT_COLUMNS) == {"released_at", "name"}


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("ordering", "filters", "backward"),
    [
        ("-released_at", {}, False),
        ("released_at", {}, True),
        ("name", {}, False),
        ("-name", {}, True),
        ("released_at", {"tier": Tier.B}, True),
        ("released_at", {"release_reason": ReleaseReason.NO_SALE}, True),
        ("-released_at", {"is_problem": "yes"}, False),
    ],
)
def test_postgresql_reads_each_pool_ordering_out_of_an_index_without_a_sort(
    owner, department, ordering, filters, backward
):
    for i in range(30):
        pool_customer(department, name=f"公司{i:02d}", released_on=date(2026, 1, 1) + timedelta(days=i))
    form = PoolFilter({"ordering": ordering, **filters}, user=owner)
    qs = form.filter(pool_visible_to(owner))[:26]
    with connection.cursor() as cursor:
        # Whatever the tiny table's statistics say: a plan without a Sort node exists only when an
        # index delivers the rows in this order.
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort", "enable_incremental_sort"):
            cursor.execute(f"SET LOCAL {setting} = off")
        plan = qs.explain()
    assert "Sort" not in plan, plan
    assert ("Backward" in plan) == backward, plan


# --- My customers ------------------------------------------------------------------------------


@pytest.fixture
def mine_rows(owner):
    rows = {
        "早期公司": owned_customer(owner, since=date(2026, 1, 5), name="早期公司"),
        "中期公司": owned_customer(owner, since=date(2026, 2, 5), name="中期公司"),
        "新近公司": owned_customer(owner, since=date(2026, 3, 5), name="新近公司"),
    }
    Customer.objects.filter(pk=rows["早期公司"].pk).update(
        last_contact_at=at(date(2026, 3, 1)), next_follow_up_on=date(2026, 4, 1)
    )
    Customer.objects.filter(pk=rows["新近公司"].pk).update(
        last_contact_at=at(date(2026, 2, 1)), next_follow_up_on=date(2026, 3, 20)
    )
    return rows


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("", ["早期公司", "中期公司", "新近公司"]),  # fewest days left first
        ("deadline", ["早期公司", "中期公司", "新近公司"]),
        ("-deadline", ["新近公司", "中期公司", "早期公司"]),
        ("-owned_since", ["新近公司", "中期公司", "早期公司"]),
        ("owned_since", ["早期公司", "中期公司", "新近公司"]),
        ("-last_contact_at", ["早期公司", "新近公司", "中期公司"]),  # never contacted: last
        ("last_contact_at", ["新近公司", "早期公司", "中期公司"]),
        ("next_follow_up_on", ["新近公司", "早期公司", "中期公司"]),
        ("-next_follow_up_on", ["早期公司", "新近公司", "中期公司"]),
    ],
)
def test_my_customers_sort_by_every_column_people_sort_by(client_for, owner, mine_rows, ordering, expected):
    html = client_for(owner).get(MINE, {"ordering": ordering} if ordering else {}).content.decode()
    assert names_in(html, list(mine_rows)) == expected


def test_my_customers_headers_and_pages_keep_sort_and_filters(client_for, owner, mine_rows):
    for i in range(26):
        owned_customer(owner, since=date(2026, 3, 10), name=f"批量{i:02d}")
    client = client_for(owner)
    html = client.get(MINE, {"ordering": "-deadline", "tier": "c"}).content.decode()
    assert 'aria-sort="descending"' in html
    assert "ordering=deadline" in href_of_header(html, "剩余天数")
    assert "tier=c" in href_of_header(html, "剩余天数")
    nxt = unescape(re.search(r'href="(\?[^"]*page=2[^"]*)"', html).group(1))
    assert "ordering=-deadline" in nxt and "tier=c" in nxt


def test_the_managers_customer_list_links_only_orderings_it_offers(client_for, manager, mine_rows):
    html = client_for(manager).get(reverse("customers:list"), {"ordering": "name"}).content.decode()
    assert "ordering=name" in href_of_header(html, "客户")  # no "-name": the list does not offer it
    for value in re.findall(r"ordering=([-\w]+)", html):
        assert client_for(manager).get(reverse("customers:list"), {"ordering": value}).status_code == 200


# --- Service requests ---------------------------------------------------------------------------


@pytest.fixture
def requests_(owner):
    from service import services as svc

    made = []
    for i, (day, text) in enumerate([(date(2026, 3, 2), "甲"), (date(2026, 3, 1), "乙"), (date(2026, 3, 3), "丙")]):
        req = svc.request_log(
            user=owner,
            data=svc.RequestInput(kind="call", channel="phone", text=text, caller_name=f"来电人{i}"),
            now=at(day),
        )
        made.append(req)
    return made


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("", ["来电人1", "来电人0", "来电人2"]),  # open: soonest due first
        ("-due_on", ["来电人2", "来电人0", "来电人1"]),
        ("-created_at", ["来电人2", "来电人0", "来电人1"]),
        ("created_at", ["来电人1", "来电人0", "来电人2"]),
        ("id", ["来电人0", "来电人1", "来电人2"]),
        ("bogus", ["来电人1", "来电人0", "来电人2"]),  # unknown: the default, never an error
    ],
)
def test_service_requests_sort_by_due_date_logged_and_number(client_for, owner, requests_, ordering, expected):
    html = client_for(owner).get(reverse("service:list"), {"ordering": ordering}).content.decode()
    assert names_in(html, ["来电人0", "来电人1", "来电人2"]) == expected


def test_service_filters_keep_the_sort_and_the_status_tabs_reset_it(client_for, owner, requests_):
    html = client_for(owner).get(reverse("service:list"), {"ordering": "-created_at", "kind": "call"}).content.decode()
    assert '<input type="hidden" name="ordering" value="-created_at">' in html
    pills = html[html.index('<ul class="nav nav-pills') :]
    pills = pills[: pills.index("</ul>")]
    tabs = [unescape(h) for h in re.findall(r'href="([^"]+)"', pills)]
    assert len(tabs) == 4 and all("ordering" not in t and "kind=call" in t for t in tabs), tabs
    ServiceRequest.objects.filter(pk=requests_[0].pk).update(
        status=RequestStatus.CLOSED, closed_at=at(date(2026, 3, 5))
    )
    closed = client_for(owner).get(reverse("service:list"), {"status": "closed"}).content.decode()
    assert 'aria-sort="descending"' in closed  # closed: newest closure first


# --- Receivables -----------------------------------------------------------------------------


def test_receivables_sort_by_amount_owed_since_and_name(client_for, owner, finance, manager):
    big = owned_customer(owner, since=date(2026, 1, 5), name="欠款多公司")
    old = owned_customer(owner, since=date(2026, 1, 5), name="欠款久公司")
    confirm(record(old, owner, "1000", day=date(2026, 3, 1)), finance, "100", day=date(2026, 3, 1))
    confirm(record(big, owner, "90000", day=date(2026, 3, 10)), finance, "100", day=date(2026, 3, 10))
    url = reverse("sales:receivables")
    client = client_for(manager)
    names = ["欠款多公司", "欠款久公司"]
    assert names_in(client.get(url).content.decode(), names) == ["欠款多公司", "欠款久公司"]
    assert names_in(client.get(url, {"ordering": "due_total"}).content.decode(), names) == ["欠款久公司", "欠款多公司"]
    assert names_in(client.get(url, {"ordering": "since"}).content.decode(), names) == ["欠款久公司", "欠款多公司"]
    html = client.get(url, {"ordering": "since"}).content.decode()
    assert "2026-03-01" in html and 'aria-sort="ascending"' in html
    by_person = client.get(url, {"by": "salesperson", "ordering": "-orders"}).content.decode()
    assert "张伟" in by_person and "¥90,800.00" in by_person
    assert client.get(url, {"ordering": "customer__owner__password"}).status_code == 200
