"""Sales pages: who may do what (403/404, nothing changed), bad input never a 500, the queue's
constant query count, the customer file's sales section (R4.4, R6.4)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from customers.models import Tier
from sales.models import CommissionHold, Order, Payment, SalesSettings

from .factories import UserFactory
from .helpers import owned_customer, reload
from .sales_helpers import confirm, record

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def _english_today(time_machine, settings):
    from .helpers import at

    settings.LANGUAGE_CODE = "en"  # pages in their English source strings
    time_machine.move_to(at(TODAY, 10), tick=False)
    with translation.override("en"):
        yield


@pytest.fixture
def customer(owner):
    return owned_customer(owner, since=date(2026, 3, 1))


def post_order(client, customer, **overrides):
    data = {"amount": "12,500.00", "deal_date": "2026-03-09", "description": "伺服电机 5 台", **overrides}
    return client.post(reverse("sales:order_create", args=[customer.pk]), data, HTTP_ACCEPT_LANGUAGE="en")


def test_owner_records_an_order_from_the_customer_page(client_for, owner, customer):
    page = client_for(owner).get(reverse("customers:detail", args=[customer.pk]))
    assert reverse("sales:order_create", args=[customer.pk]) in page.content.decode()
    response = post_order(client_for(owner), customer)
    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.amount, order.salesperson, order.deal_date) == (Decimal("12500.00"), owner, date(2026, 3, 9))


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-100", "more than zero"),
        ("0", "more than zero"),
        ("1000000000001", "Check the amount"),
        ("1e400", "Check the amount"),
        ("abc", "number of yuan"),
        ("12.345", "two decimal places"),
        ("NaN", "number of yuan"),
        ("", "required"),
    ],
)
def test_bad_order_amounts_get_a_clear_message_and_nothing_is_saved(client_for, owner, customer, amount, message):
    response = post_order(client_for(owner), customer, amount=amount)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize("deal_date", ["2026-03-11", "0001-01-01", "not a date", "99999-01-01"])
def test_bad_deal_dates_never_500(client_for, owner, customer, deal_date):
    response = post_order(client_for(owner), customer, deal_date=deal_date)
    assert response.status_code == 200
    assert not Order.objects.exists()


def test_full_width_and_yuan_sign_amounts_are_understood(client_for, owner, customer):
    post_order(client_for(owner), customer, amount="￥１２，５００．５")
    assert Order.objects.get().amount == Decimal("12500.50")


@pytest.mark.parametrize(("who", "status"), [("teammate", 404), ("outsider", 404), ("manager", 403), ("finance", 403)])
def test_only_the_owner_opens_the_order_form(client_for, request, customer, who, status):
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("sales:order_create", args=[customer.pk])).status_code == status
    assert post_order(client, customer).status_code == status
    assert not Order.objects.exists()


def test_finance_confirms_from_the_queue(client_for, owner, finance, customer):
    order = record(customer, owner, "10000.00", day=TODAY)
    client = client_for(finance)
    queue = client.get(reverse("sales:queue"))
    assert queue.status_code == 200 and f"#{order.pk}" in queue.content.decode()
    data = {"amount": "4000", "received_on": "2026-03-10", "next": reverse("sales:queue")}
    step = client.post(reverse("sales:payment_confirm", args=[order.pk]), data)
    assert step.status_code == 200 and not Payment.objects.exists()  # the confirmation step saves nothing
    assert 'name="confirmed" value="1"' in step.content.decode()
    response = client.post(reverse("sales:payment_confirm", args=[order.pk]), {**data, "confirmed": "1"})
    assert response.status_code == 302 and response.url == reverse("sales:queue")
    order = reload(order)
    assert order.paid_amount == Decimal(4000) and order.confirmed_on == TODAY
    assert reload(customer).last_sale_on == TODAY


@pytest.mark.parametrize(
    ("amount", "received_on", "message"),
    [
        ("10000.01", "2026-03-10", "overpayment"),
        ("-1", "2026-03-10", "more than zero"),
        ("x", "2026-03-10", "number of yuan"),
        ("100", "2026-03-11", "future"),
        ("100", "garbage", "valid date"),
    ],
)
def test_bad_confirmations_show_a_message_and_change_nothing(
    client_for, owner, finance, customer, amount, received_on, message
):
    order = record(customer, owner, "10000.00", day=TODAY)
    for step in ({}, {"confirmed": "1"}):  # refused on the confirmation step, and if posted past it
        response = client_for(finance).post(
            reverse("sales:payment_confirm", args=[order.pk]), {"amount": amount, "received_on": received_on, **step}
        )
        assert response.status_code == 200
        assert message in response.content.decode()
        assert 'name="confirmed" value="1"' not in response.content.decode()
        assert not Payment.objects.exists() and reload(order).confirmed_on is None


@pytest.mark.parametrize(("who", "status"), [("owner", 403), ("manager", 403), ("teammate", 404), ("outsider", 404)])
def test_only_finance_confirms_and_reverses_over_http(client_for, request, owner, finance, customer, who, status):
    order = record(customer, owner, "10000.00", day=TODAY)
    client = client_for(request.getfixturevalue(who))
    response = client.post(
        reverse("sales:payment_confirm", args=[order.pk]),
        {"amount": "100", "received_on": "2026-03-10", "confirmed": "1"},
    )
    assert response.status_code == status
    assert not Payment.objects.exists()
    payment = confirm(order, finance, "100", day=TODAY).payment
    response = client.post(reverse("sales:payment_reverse", args=[payment.pk]), {"reason": "x"})
    assert response.status_code == status
    assert reload(payment).reversed_at is None
    assert client.get(reverse("sales:queue")).status_code == 403


def test_finance_reverses_with_a_reason(client_for, owner, finance, customer):
    order = record(customer, owner, "10000.00", day=TODAY)
    payment = confirm(order, finance, "100", day=TODAY).payment
    client = client_for(finance)
    url = reverse("sales:payment_reverse", args=[payment.pk])
    assert client.post(url, {"reason": "  "}).status_code == 200
    assert reload(payment).reversed_at is None
    assert client.post(url, {"reason": "银行退票"}).status_code == 302
    assert reload(payment).reverse_reason == "银行退票"
    detail = client.get(reverse("sales:order_detail", args=[order.pk])).content.decode()
    assert "银行退票" in detail


def test_get_never_changes_anything(client_for, owner, finance, customer):
    order = record(customer, owner, "10000.00", day=TODAY)
    assert client_for(finance).get(reverse("sales:payment_confirm", args=[order.pk])).status_code == 405
    assert not Payment.objects.exists()


def test_queue_query_count_is_constant(client_for, owner, teammate, finance, department, django_assert_max_num_queries):
    customers = [owned_customer(owner, since=date(2026, 3, 1)) for _ in range(3)]
    for c in customers:
        record(c, owner, "100", day=TODAY)
    client = client_for(finance)
    client.get(reverse("sales:queue"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("sales:queue"))
    for _ in range(20):
        c = owned_customer(teammate, since=date(2026, 3, 1))
        record(c, teammate, "200", day=TODAY)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("sales:queue"))
    assert response.status_code == 200
    assert len(many) == len(few)


@pytest.mark.parametrize(
    "query",
    [
        {"salesperson": "abc"},
        {"salesperson": "999999999999999999999"},
        {"date_from": "2026-13-01"},
        {"date_from": "2026-03-10", "date_to": "2026-03-01"},
        {"q": "华" * 300},
        {"page": "-1"},
    ],
)
def test_queue_bad_filters_never_500(client_for, finance, query):
    assert client_for(finance).get(reverse("sales:queue"), query).status_code == 200


def test_queue_filters(client_for, owner, teammate, finance):
    a = record(owned_customer(owner, since=date(2026, 3, 1), name="深圳市华信科技有限公司"), owner, "100", day=TODAY)
    b = record(
        owned_customer(teammate, since=date(2026, 3, 1), name="厦门蓝海食品有限公司"),
        teammate,
        "100",
        day=date(2026, 3, 1),
    )
    client = client_for(finance)
    html = client.get(reverse("sales:queue"), {"salesperson": owner.pk}).content.decode()
    assert f'data-order="{a.pk}"' in html and f'data-order="{b.pk}"' not in html
    html = client.get(reverse("sales:queue"), {"q": "华信"}).content.decode()
    assert f'data-order="{a.pk}"' in html and f'data-order="{b.pk}"' not in html
    html = client.get(reverse("sales:queue"), {"date_to": "2026-03-05"}).content.decode()
    assert f'data-order="{a.pk}"' not in html and f'data-order="{b.pk}"' in html


def test_sales_section_shows_r4_4_summary_to_who_sees_the_file(client_for, owner, teammate, finance, manager, customer):
    order = record(customer, owner, "60000.00", day=TODAY)
    confirm(order, finance, "10000.00", day=TODAY)
    assert reload(customer).tier == Tier.A
    for user in (owner, finance, manager):
        html = client_for(user).get(reverse("customers:detail", args=[customer.pk])).content.decode()
        assert 'id="section-sales"' in html
        assert "¥60,000.00" in html  # confirmed amount and tier amount
        assert "¥50,000.00" in html  # receivable
        assert "2026-03-10" in html  # last sale date
    assert client_for(teammate).get(reverse("customers:detail", args=[customer.pk])).status_code == 404


def test_order_detail_visibility(client_for, owner, teammate, outsider, finance, manager, customer):
    order = record(customer, owner, "100", day=TODAY)
    url = reverse("sales:order_detail", args=[order.pk])
    for user in (owner, finance, manager):
        assert client_for(user).get(url).status_code == 200
    for user in (teammate, outsider):
        assert client_for(user).get(url).status_code == 404
    assert client_for(owner).get("/sales/orders/99999999999999999999/").status_code == 404


def test_finance_and_manager_pages(client_for, owner, finance, manager, admin_user, customer):
    confirm(record(customer, owner, "100", day=TODAY), finance, "40", day=TODAY)
    for user in (finance, manager, admin_user):
        client = client_for(user)
        for name in ("sales:receivables", "sales:commission", "sales:holds", "sales:orders"):
            assert client.get(reverse(name)).status_code == 200, (user, name)
        assert client.get(reverse("sales:receivables"), {"by": "salesperson"}).status_code == 200
        assert client.get(reverse("sales:commission"), {"month": "2026-03", "salesperson": owner.pk}).status_code == 200
        assert client.get(reverse("sales:commission"), {"month": "garbage"}).status_code == 200
    html = client_for(finance).get(reverse("sales:commission"), {"month": "2026-03"}).content.decode()
    assert "¥3.00" in html  # 3% of ¥100.00
    for name in ("sales:receivables", "sales:commission", "sales:holds", "sales:settings", "sales:queue"):
        assert client_for(owner).get(reverse(name)).status_code == 403


def test_manager_sets_settings_and_holds(client_for, owner, manager, department, finance):
    client = client_for(manager)
    assert client.get(reverse("sales:settings")).status_code == 200
    bad = client.post(
        reverse("sales:settings"),
        {
            "vip_threshold": "100000",
            "a_threshold": "120000",
            "b_threshold": "30000",
            "window_months": "12",
            "commission_rate": "0.03",
        },
    )
    assert bad.status_code == 200 and "rise from B to A to VIP" in bad.content.decode()
    assert not SalesSettings.objects.filter(department=department).exists()
    good = client.post(
        reverse("sales:settings"),
        {
            "vip_threshold": "200,000",
            "a_threshold": "80000",
            "b_threshold": "30000",
            "window_months": "6",
            "commission_rate": "0.025",
        },
    )
    assert good.status_code == 302
    saved = SalesSettings.objects.get(department=department)
    assert (saved.vip_threshold, saved.window_months, saved.commission_rate) == (
        Decimal(200000),
        6,
        Decimal("0.025"),
    )
    assert client_for(finance).post(reverse("sales:settings"), {}).status_code == 403
    assert client.post(reverse("sales:holds"), {"salesperson": owner.pk, "reason": "离职交接"}).status_code == 302
    hold = CommissionHold.objects.get()
    assert client_for(finance).post(reverse("sales:hold_release", args=[hold.pk])).status_code == 403
    assert client.post(reverse("sales:hold_release", args=[hold.pk])).status_code == 302
    assert reload(hold).released_by == manager


def test_admin_picks_a_department_for_settings(client_for, admin_user, department):
    client = client_for(admin_user)
    assert client.get(reverse("sales:settings")).status_code == 200
    assert client.get(reverse("sales:settings"), {"department": department.pk}).status_code == 200
    assert client.get(reverse("sales:settings"), {"department": "x"}).status_code == 200


def test_salesperson_sees_own_orders_only(client_for, owner, teammate):
    mine = record(owned_customer(owner, since=date(2026, 3, 1)), owner, "100", day=TODAY)
    theirs = record(owned_customer(teammate, since=date(2026, 3, 1)), teammate, "100", day=TODAY)
    html = client_for(owner).get(reverse("sales:orders"), {"status": "bogus"}).content.decode()
    assert reverse("sales:order_detail", args=[mine.pk]) in html
    assert reverse("sales:order_detail", args=[theirs.pk]) not in html


def test_nav_shows_sales_links_by_role(client_for, owner, finance):
    assert reverse("sales:queue") not in client_for(owner).get(reverse("sales:orders")).content.decode()
    assert reverse("sales:queue") in client_for(finance).get(reverse("sales:orders")).content.decode()


def test_probation_and_inactive_users(client_for, department):
    from accounts import roles

    user = UserFactory(role=roles.SALESPERSON, department=department, is_active=False)
    assert client_for(user).get(reverse("sales:orders")).status_code in (200, 302)
