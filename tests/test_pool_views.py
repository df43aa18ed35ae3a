"""The pool's pages (issue 3): query counts, department scoping, masking (R6.4), the htmx claim,
GET never changing state, crafted POSTs, the managers' pages, the release preview (R5.11), the
release log (R7.3) and the notification bell."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts import roles
from crm.dates import local_today
from customers.models import Customer, ReleaseReason
from notifications.models import Notification
from ownership import services
from ownership.models import Action, MissingReleaseNote, OwnershipEvent, Rule
from ownership.nightly import nightly_release

from .factories import ContactFactory, UserFactory
from .helpers import at, owned_customer, pool_customer, reload

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
POOL = reverse("ownership:pool")


def snapshot() -> tuple:
    return (
        list(
            Customer.objects.order_by("pk").values_list(
                "pk", "owner_id", "owner_basis", "deadline", "deadline_extended", "is_problem", "released_at"
            )
        ),
        OwnershipEvent.objects.count(),
        list(Notification.objects.order_by("pk").values_list("pk", "read_at")),
        list(MissingReleaseNote.objects.order_by("pk").values_list("pk", "demanded_at")),
    )


# --- The pool page ------------------------------------------------------------------------------


def test_pool_query_count_is_constant_whatever_the_page_size(client_for, owner, teammate, department):
    """120 pool customers with contacts, some lost by the viewer (cool-off), some problem ones:
    a page of 10 and a page of 100 cost the same number of queries."""
    for i in range(120):
        c = pool_customer(
            department,
            released_from=owner if i % 3 == 0 else teammate,
            reason=ReleaseReason.NO_DEAL if i % 2 else ReleaseReason.VOLUNTARY,
            released_on=date(2026, 1, 1) + timedelta(days=i % 60),
            is_problem=i % 7 == 0,
        )
        if i % 4 == 0:
            ContactFactory(customer=c)  # a second contact
    client = client_for(owner)
    client.get(POOL + "?size=10")  # warm up: session, content types
    counts = {}
    for size in (10, 100):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(POOL + f"?size={size}")
        assert response.status_code == 200
        assert len(response.context["rows"]) == size
        counts[size] = len(ctx)
    assert counts[10] == counts[100], counts
    # The same with a search and the second page.
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(POOL + "?size=50&page=2&q=有限公司").status_code == 200
    assert len(ctx) == counts[10]


def test_pool_shows_only_the_users_department_pool(client_for, owner, teammate, outsider, department, other_department):
    ours = pool_customer(department, name="苏州嘉禾食品有限公司")
    theirs = pool_customer(other_department, name="成都天成物流有限公司")
    owned = owned_customer(teammate, since=local_today(), name="厦门蓝海食品有限公司")
    page = client_for(owner).get(POOL).content.decode()
    assert ours.name in page
    assert theirs.name not in page and owned.name not in page
    page = client_for(outsider).get(POOL).content.decode()
    assert theirs.name in page and ours.name not in page
    # Asking for the other department by query string changes nothing for a salesperson.
    page = client_for(owner).get(POOL + f"?department={other_department.pk}").content.decode()
    assert theirs.name not in page


def test_pool_rows_show_why_and_when_they_entered(client_for, owner, department):
    pool_customer(department, name="苏州嘉禾食品有限公司", reason=ReleaseReason.NO_SALE, released_on=date(2026, 2, 3))
    response = client_for(owner).get(POOL)
    page = response.content.decode()
    assert "2026-02-03" in page
    assert str(ReleaseReason.NO_SALE.label) in page


def test_r6_4_pool_rows_mask_phones(client_for, owner, manager, department):
    c = pool_customer(department)
    phone = c.contacts.get().phone
    page = client_for(owner).get(POOL).content.decode()
    assert phone not in page
    assert phone[:3] + "****" + phone[-4:] in page
    # The manager sees the file (R6.4): the number in full.
    assert phone in client_for(manager).get(POOL).content.decode()


def test_r6_4_mask_setting_off_shows_phones(client_for, owner, department):
    c = pool_customer(department)
    settings = services.pool_settings_for(department.pk)
    settings.mask_pool_contacts = False
    settings.save()
    assert c.contacts.get().phone in client_for(owner).get(POOL).content.decode()


def test_search_two_chinese_characters(client_for, owner, department):
    hit = pool_customer(department, name="深圳市华为技术有限公司")
    miss = pool_customer(department, name="苏州嘉禾食品有限公司")
    page = client_for(owner).get(POOL + "?q=华为").content.decode()
    assert hit.name in page and miss.name not in page


# --- The htmx claim ---------------------------------------------------------------------------------


def test_htmx_claim_returns_the_row_partial(client_for, owner, teammate, department):
    c = pool_customer(department)
    phone = c.contacts.get().phone
    url = reverse("ownership:claim", args=[c.pk])
    response = client_for(owner).post(url, {"next": POOL}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith("<tr") and "<html" not in body
    assert f'id="pool-row-{c.pk}"' in body and "table-success" in body
    assert reverse("customers:detail", args=[c.pk]) in body
    assert phone in body  # the claimer's own customer now: unmasked
    assert reload(c).owner == owner

    # The teammate's page still showed the row: its claim answers in the row, not with an error.
    response = client_for(teammate).post(url, {"next": POOL}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert "table-warning" in body and 'role="alert"' in body
    assert services.AlreadyTaken.__name__ not in body
    assert phone not in body  # still masked for the teammate
    assert reload(c).owner == owner
    assert OwnershipEvent.objects.filter(customer=c, action=Action.CLAIMED).count() == 1


def test_r6_4_claim_post_does_not_reveal_another_salespersons_customer(client_for, owner, teammate):
    """A crafted claim of a customer the teammate registered (never in the pool) is 404, not
    "just claimed by someone else" with its name and card."""
    theirs = owned_customer(teammate, since=local_today() - timedelta(days=3), name="厦门蓝海食品有限公司")
    before = snapshot()
    url = reverse("ownership:claim", args=[theirs.pk])
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        response = client_for(owner).post(url, {"next": POOL}, **headers)
        assert response.status_code == 404
        assert theirs.name not in response.content.decode()
    assert snapshot() == before


def test_stale_row_gets_just_claimed_only_within_the_race_window(client_for, owner, teammate, department, time_machine):
    time_machine.move_to(datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI), tick=False)
    c = pool_customer(department, name="苏州嘉禾食品有限公司")
    services.customer_claim(customer=c, user=teammate)
    url = reverse("ownership:claim", args=[c.pk])
    time_machine.shift(timedelta(hours=20))
    response = client_for(owner).post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and c.name in response.content.decode()
    time_machine.shift(timedelta(hours=5))
    assert client_for(owner).post(url, HTTP_HX_REQUEST="true").status_code == 404
    assert reload(c).owner == teammate


def test_claim_without_htmx_redirects_to_next(client_for, owner, department):
    c = pool_customer(department)
    response = client_for(owner).post(reverse("ownership:claim", args=[c.pk]), {"next": POOL + "?page=2"})
    assert response.status_code == 302 and response["Location"] == POOL + "?page=2"
    response = client_for(owner).post(reverse("ownership:claim", args=[c.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == POOL


def test_r5_8_cooloff_shows_when_instead_of_a_claim_button(client_for, owner, teammate, department, time_machine):
    time_machine.move_to(datetime(2026, 1, 20, 10, 0, tzinfo=SHANGHAI), tick=False)
    lost = pool_customer(department, released_from=owner, reason=ReleaseReason.NO_DEAL, released_on=date(2026, 1, 5))
    page = client_for(owner).get(POOL).content.decode()
    row = page[page.index(f'id="pool-row-{lost.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "2026-02-04" in row  # released 5 Jan + 30 days
    assert reverse("ownership:claim", args=[lost.pk]) not in row
    # The teammate may claim it.
    page = client_for(teammate).get(POOL).content.decode()
    assert reverse("ownership:claim", args=[lost.pk]) in page


# --- GET never changes state; crafted POSTs ---------------------------------------------------------


@pytest.fixture
def scene(owner, teammate, department):
    since = local_today() - timedelta(days=10)
    own = owned_customer(owner, since=since, name="宁波德润精密机械有限公司")
    theirs = owned_customer(teammate, since=since, name="厦门蓝海食品有限公司")
    pool = pool_customer(department, name="苏州嘉禾食品有限公司")
    item = MissingReleaseNote.objects.create(
        customer=pool,
        former_owner=teammate,
        ownership_started=since - timedelta(days=70),
        released_at=at(since, 1),
        reason=ReleaseReason.NO_DEAL,
    )
    note = Notification.objects.create(recipient=owner, kind="warning", text="到期提醒", created_at=at(since))
    return {"own": own, "theirs": theirs, "pool": pool, "item": item, "note": note}


@pytest.mark.parametrize(
    ("url_name", "who", "target", "expected"),
    [
        ("ownership:claim", "owner", "pool", 405),
        ("ownership:release", "owner", "own", 405),
        ("ownership:clear_problem", "manager", "own", 405),
        ("ownership:assign", "manager", "pool", 200),
        ("ownership:mark_problem", "manager", "own", 200),
        ("ownership:extend", "manager", "own", 200),
        ("ownership:release_note", "owner", "own", 200),
        ("ownership:missing_note_demand", "manager", "item", 405),
        ("notifications:read", "owner", "note", 405),
        ("notifications:read_all", "owner", None, 405),
    ],
)
def test_get_never_changes_state(request, client_for, scene, url_name, who, target, expected):
    url = reverse(url_name, args=[scene[target].pk] if target else [])
    before = snapshot()
    response = client_for(request.getfixturevalue(who)).get(url)
    assert response.status_code == expected
    if expected == 200:
        assert "<form" in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize(
    ("url_name", "target", "data"),
    [
        ("ownership:assign", "pool", {"relationship": "on", "introduced_by": "王总"}),
        ("ownership:assign", "theirs", {"relationship": "on", "introduced_by": "王总"}),
        ("ownership:mark_problem", "theirs", {"reason": "拖欠货款"}),
        ("ownership:mark_problem", "own", {"reason": "拖欠货款"}),
        ("ownership:clear_problem", "theirs", {"reason": "已还款"}),
        ("ownership:extend", "theirs", {"reason": "大单在谈"}),
        ("ownership:extend", "own", {"reason": "自己延期"}),
        ("ownership:release", "theirs", {}),
        ("ownership:release_note", "theirs", {"situation": "x", "contact_details": "y", "communication_level": "z"}),
        ("ownership:missing_note_demand", "item", {}),
    ],
)
def test_crafted_posts_by_a_salesperson_change_nothing(client_for, owner, scene, url_name, target, data):
    if "to_user" not in data and url_name == "ownership:assign":
        data = {**data, "to_user": owner.pk}
    if url_name == "ownership:extend":
        deadline = scene[target].deadline
        data = {**data, "new_deadline": (deadline + timedelta(days=20)).isoformat()}
    before = snapshot()
    response = client_for(owner).post(reverse(url_name, args=[scene[target].pk]), data)
    assert response.status_code in (403, 404)
    assert snapshot() == before


def test_salesperson_cannot_read_someone_elses_notification(client_for, teammate, scene):
    before = snapshot()
    assert client_for(teammate).post(reverse("notifications:read", args=[scene["note"].pk])).status_code == 404
    assert snapshot() == before


# --- Managers' pages ------------------------------------------------------------------------------------


MANAGER_PAGES = [
    ("ownership:release_log", []),
    ("ownership:preview", []),
    ("ownership:preview_day", ["2026-03-05"]),
    ("ownership:settings", []),
]


@pytest.mark.parametrize(("url_name", "args"), MANAGER_PAGES)
@pytest.mark.parametrize(("who", "status"), [("manager", 200), ("admin_user", 200), ("owner", 403), ("finance", 403)])
def test_manager_pages(request, client_for, url_name, args, who, status):
    response = client_for(request.getfixturevalue(who)).get(reverse(url_name, args=args))
    assert response.status_code == status


def test_missing_notes_page_managers_see_the_department_salespeople_their_own(client_for, manager, owner, scene):
    """R7.3: the managers' list of releases without a note. A salesperson opening it sees only
    its own overdue notes (to write them), never a colleague's."""
    page = client_for(manager).get(reverse("ownership:missing_notes")).content.decode()
    assert scene["pool"].name in page and "李娜" in page
    response = client_for(owner).get(reverse("ownership:missing_notes"))
    assert response.status_code == 200
    assert scene["pool"].name not in response.content.decode()


def test_manager_demands_a_missing_note(client_for, manager, teammate, scene):
    item = scene["item"]
    response = client_for(manager).post(reverse("ownership:missing_note_demand", args=[item.pk]))
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.demanded_by == manager and item.demanded_at is not None


def test_preview_day_bad_date_is_404(client_for, manager):
    for day in ["2026-13-45", "yesterday", "0000-00-00"]:
        assert client_for(manager).get(reverse("ownership:preview_day", args=[day])).status_code == 404


def test_settings_post_by_salesperson_is_refused(client_for, owner, department):
    data = {
        "max_unsold": 1000,
        "max_unsold_probation": 1000,
        "daily_claim_cap": 999,
        "reclaim_cooloff_days": 0,
        "warning_days": 7,
    }
    assert client_for(owner).post(reverse("ownership:settings"), data).status_code == 403
    assert services.pool_settings_for(department.pk).daily_claim_cap == 20


# --- R5.11 the release preview ---------------------------------------------------------------------------


def test_r5_11_preview_lists_the_next_seven_runs_per_day_and_salesperson(
    client_for, manager, owner, teammate, outsider, time_machine
):
    time_machine.move_to(datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI), tick=False)
    # The night's run already happened (01:00 today).
    nightly_release(as_of=date(2026, 3, 2), now=datetime(2026, 3, 2, 1, 0, tzinfo=SHANGHAI))

    overdue = owned_customer(owner, since=date(2026, 1, 1), name="逾期科技有限公司")  # deadline 1 Mar
    owned_customer(owner, since=date(2026, 1, 4))  # deadline 4 Mar -> night of 5 Mar
    owned_customer(owner, since=date(2026, 1, 4))
    owned_customer(teammate, since=date(2025, 11, 1), sold=True, last_sale_on=date(2025, 12, 4))  # R5.4, 4 Mar
    owned_customer(teammate, since=date(2026, 1, 8))  # deadline 8 Mar -> night of 9 Mar, the 7th run
    owned_customer(owner, since=date(2026, 1, 9))  # deadline 9 Mar -> night of 10 Mar: beyond the 7 runs
    owned_customer(outsider, since=date(2026, 1, 4))  # another department

    response = client_for(manager).get(reverse("ownership:preview"))
    assert response.status_code == 200
    days = response.context["days"]
    assert [d.run_date for d in days] == [date(2026, 3, d) for d in range(3, 10)]
    by_day = {d.run_date: {o["owner"]: (o["no_deal"], o["no_sale"]) for o in d.owners} for d in days}
    assert by_day[date(2026, 3, 3)] == {"张伟": (1, 0)}  # the first run takes everything overdue
    assert by_day[date(2026, 3, 5)] == {"张伟": (2, 0), "李娜": (0, 1)}
    assert by_day[date(2026, 3, 9)] == {"李娜": (1, 0)}
    for d in (4, 6, 7, 8):
        assert by_day[date(2026, 3, d)] == {}
    assert sum(d.total for d in days) == 5

    page = response.content.decode()
    # The last successful nightly run is shown.
    assert response.context["nightly"].last.as_of == date(2026, 3, 2)
    assert 'data-state="ok"' in page and "2026-03-02" in page
    assert reverse("ownership:preview_day", args=["2026-03-05"]) + f"?owner={owner.pk}" in page

    # The drill-down: the customers of a night, of one salesperson.
    day = client_for(manager).get(reverse("ownership:preview_day", args=["2026-03-03"]) + f"?owner={owner.pk}")
    assert list(day.context["page"]) == [overdue]
    day = client_for(manager).get(reverse("ownership:preview_day", args=["2026-03-05"]))
    assert len(day.context["page"]) == 3


def test_preview_without_any_run_says_so(client_for, manager):
    response = client_for(manager).get(reverse("ownership:preview"))
    assert response.context["nightly"].last is None
    with translation.override("zh-hans"):
        assert translation.gettext("The nightly job has not completed a run yet.") in response.content.decode()


# --- R7.3 the release log ------------------------------------------------------------------------------------


def test_release_log_shows_a_nightly_release_with_its_release_note(client_for, manager, owner, outsider):
    c = owned_customer(owner, since=date(2026, 1, 10), name="宁波德润精密机械有限公司")
    services.release_note_write(
        customer=c,
        user=owner,
        situation="年采购额约50万，正在比价",
        contact_details="赵经理 13912345678",
        communication_level="已报价两次",
        now=at(date(2026, 3, 1)),
    )
    bare = owned_customer(owner, since=date(2026, 1, 10), name="厦门蓝海食品有限公司")
    foreign = owned_customer(outsider, since=date(2026, 1, 10), name="成都天成物流有限公司")
    nightly_release(as_of=date(2026, 3, 11), now=at(date(2026, 3, 11), 1))
    assert reload(c).owner is None

    response = client_for(manager).get(reverse("ownership:release_log"))
    assert response.status_code == 200
    page = response.content.decode()
    assert c.name in page and bare.name in page
    assert foreign.name not in page  # another department's release
    assert "年采购额约50万，正在比价" in page and "赵经理 13912345678" in page
    assert str(Rule.R5_2.label) in page
    events = list(response.context["page"])
    assert {e.customer_id: e.release_note is not None for e in events} == {c.pk: True, bare.pk: False}

    # Filtering by reason.
    response = client_for(manager).get(reverse("ownership:release_log") + "?reason=no_sale")
    assert list(response.context["page"]) == []


# --- The notification bell ----------------------------------------------------------------------------------


def test_notification_bell_counts_unread_and_marks_read(client_for, owner, teammate):
    now = at(date(2026, 3, 1))
    first = Notification.objects.create(
        recipient=owner, kind="warning", text="宁波德润 7天后到期", url="/customers/mine/", created_at=now
    )
    Notification.objects.create(recipient=owner, kind="released", text="厦门蓝海 已退回客户池", created_at=now)
    Notification.objects.create(recipient=teammate, kind="warning", text="别人的提醒", created_at=now)
    client = client_for(owner)

    response = client.get(reverse("customers:mine"))
    assert response.context["unread_notifications"] == 2
    assert 'rounded-pill bg-danger">2<' in response.content.decode()

    page = client.get(reverse("notifications:list")).content.decode()
    assert "宁波德润 7天后到期" in page and "别人的提醒" not in page

    response = client.post(reverse("notifications:read", args=[first.pk]))
    assert response.status_code == 302 and response["Location"] == "/customers/mine/"
    assert client.get(reverse("customers:mine")).context["unread_notifications"] == 1

    response = client.post(reverse("notifications:read_all"))
    assert response.status_code == 302
    response = client.get(reverse("customers:mine"))
    assert response.context["unread_notifications"] == 0
    assert "rounded-pill bg-danger" not in response.content.decode()
    assert Notification.objects.get(recipient=teammate).read_at is None


def test_notification_with_an_outside_url_does_not_redirect_there(client_for, owner):
    n = Notification.objects.create(
        recipient=owner, kind="x", text="t", url="//evil.example/", created_at=at(date(2026, 3, 1))
    )
    response = client_for(owner).post(reverse("notifications:read", args=[n.pk]))
    assert response["Location"] == reverse("notifications:list")


def test_manager_assignment_notifies_the_salesperson(client_for, manager, owner, department):
    c = pool_customer(department)
    response = client_for(manager).post(
        reverse("ownership:assign", args=[c.pk]), {"to_user": owner.pk, "relationship": "on", "introduced_by": "王总"}
    )
    assert response.status_code == 302
    assert reload(c).owner == owner
    response = client_for(owner).get(reverse("customers:mine"))
    assert response.context["unread_notifications"] == 1


def test_probation_salesperson_is_a_salesperson_for_the_pool(client_for, probation, department):
    c = pool_customer(department)
    assert reverse("ownership:claim", args=[c.pk]) in client_for(probation).get(POOL).content.decode()


def test_manager_of_another_department_cannot_act(client_for, other_department, owner):
    other = UserFactory(role=roles.MANAGER, department=other_department)
    c = owned_customer(owner, since=local_today() - timedelta(days=5))
    before = snapshot()
    client = client_for(other)
    assert client.get(reverse("ownership:extend", args=[c.pk])).status_code == 404
    assert client.post(reverse("ownership:mark_problem", args=[c.pk]), {"reason": "x"}).status_code == 404
    assert snapshot() == before


def test_filter_bars_render_bootstrap_fields_without_crispy(client_for, owner):
    """The pool's and the customer lists' filter bars are rendered by _filter_field.html (crispy
    cost a fifth of the pool page): Bootstrap classes, labels, and an invalid value marked."""
    client = client_for(owner)
    page = client.get(reverse("ownership:pool")).content.decode()
    assert 'class="form-select"' in page and 'class="form-control"' in page and 'for="id_tier"' in page
    page = client.get(reverse("customers:mine"), {"tier": "zz"}).content.decode()
    assert "form-select is-invalid" in page and "invalid-feedback" in page
