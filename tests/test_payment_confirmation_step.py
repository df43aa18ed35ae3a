"""Issue 14: finance confirms a payment with one click on the pre-filled full amount of today, behind
a confirmation step that shows amount, order and what it does to ownership (R5.3, R8.1) — and
what the step promises is what the save does."""

from datetime import date

import pytest
from django.urls import reverse

from accounts.models import User
from crm.dates import local_today
from customers.models import Basis, Customer
from ownership import services as ownership_services
from ownership.selectors import sale_effect
from sales.models import Payment

from .helpers import at, owned_customer, reload
from .sales_helpers import confirm, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def today(time_machine) -> date:
    time_machine.move_to(at(date(2026, 3, 10), 15), tick=False)
    return local_today()


def step(client, order, amount="", received_on=None, **extra):
    data = {"amount": amount or f"{order.outstanding:.2f}", "received_on": (received_on or local_today()).isoformat()}
    return client.post(reverse("sales:payment_confirm", args=[order.pk]), {**data, **extra})


def effect_text(response) -> str:
    html = response.content.decode()
    start = html.index('data-testid="ownership-effect"')
    return html[start : html.index("</p>", start)]


def test_the_queue_prefills_the_full_amount_due_and_today(client_for, owner, finance, today):
    order = record(owned_customer(owner, since=date(2026, 2, 1)), owner, "12500.50", day=today)
    confirm(order, finance, "500.50", day=today)
    html = client_for(finance).get(reverse("sales:queue")).content.decode()
    assert 'value="12000.00"' in html and f'value="{today.isoformat()}"' in html
    detail = client_for(finance).get(reverse("sales:order_detail", args=[order.pk])).content.decode()
    assert 'value="12000.00"' in detail


def test_the_step_shows_amount_order_and_saves_nothing(client_for, owner, finance, today):
    customer = owned_customer(owner, since=date(2026, 2, 1), name="宁波明德医疗器械有限公司")
    order = record(customer, owner, "20000", day=today)
    response = step(client_for(finance), order, next=reverse("sales:queue"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "¥20,000.00" in html and f"#{order.pk}" in html and "宁波明德医疗器械有限公司" in html
    assert '<input type="hidden" name="next" value="/sales/queue/">' in html
    assert not Payment.objects.exists() and reload(order).confirmed_on is None


def test_first_order_of_the_owners_own_customer_keeps_it_on_basis_first_order(client_for, owner, finance, today):
    customer = owned_customer(owner, since=date(2026, 2, 1))
    order = record(customer, owner, "20000", day=today)
    text = effect_text(step(client_for(finance), order))
    assert "张伟继续担任归属销售" in text and "首单" in text
    step(client_for(finance), order, confirmed="1")
    customer = reload(customer)
    assert customer.owner == owner and customer.owner_basis == Basis.FIRST_ORDER


def test_first_order_hands_the_customer_to_the_orders_salesperson(client_for, owner, teammate, finance, today):
    """The owner recorded the order, lost the customer to the pool, a teammate claimed it: the
    first confirmed sale makes the order's salesperson the owner again (R5.3)."""
    customer = owned_customer(owner, since=date(2026, 2, 1))
    order = record(customer, owner, "20000", day=date(2026, 3, 1))
    Customer.objects.filter(pk=customer.pk).update(owner=teammate, owner_basis=Basis.CLAIMED)
    response = step(client_for(finance), order)
    text = effect_text(response)
    assert "归属于张伟" in text and "不再归属于李娜" in text
    assert not Payment.objects.exists() and reload(customer).owner == teammate
    step(client_for(finance), order, confirmed="1")
    assert reload(customer).owner == owner


def test_first_order_of_a_pool_customer_takes_it_out_of_the_pool(client_for, owner, finance, today):
    customer = owned_customer(owner, since=date(2026, 2, 1))
    order = record(customer, owner, "20000", day=date(2026, 3, 1))
    Customer.objects.filter(pk=customer.pk).update(owner=None, owner_basis="")
    assert "离开客户池" in effect_text(step(client_for(finance), order))
    step(client_for(finance), order, confirmed="1")
    assert reload(customer).owner == owner


def test_a_leaver_does_not_become_owner_and_the_step_says_so(client_for, owner, teammate, finance, today):
    customer = owned_customer(owner, since=date(2026, 2, 1))
    order = record(customer, owner, "20000", day=date(2026, 3, 1))
    Customer.objects.filter(pk=customer.pk).update(owner=teammate)
    User.objects.filter(pk=owner.pk).update(is_active=False)
    assert "归属销售不变" in effect_text(step(client_for(finance), order))
    step(client_for(finance), order, confirmed="1")
    assert reload(customer).owner == teammate


def test_a_later_sale_and_a_later_payment_change_no_owner(client_for, owner, finance, today):
    customer = owned_customer(owner, since=date(2026, 1, 5))
    first = record(customer, owner, "5000", day=date(2026, 2, 1))
    confirm(first, finance, "1000", day=date(2026, 2, 1))
    assert "已是已确认销售" in effect_text(step(client_for(finance), reload(first)))  # another payment of a sale
    second = record(customer, owner, "8000", day=today)
    response = step(client_for(finance), second)
    assert "归属销售不变" in effect_text(response)
    assert "2026-06-10" in response.content.decode()  # the deadline the sale of today gives


def test_refusals_show_on_the_step_without_a_confirm_button(client_for, owner, finance, today):
    order = record(owned_customer(owner, since=date(2026, 2, 1)), owner, "1000", day=today)
    response = step(client_for(finance), order, amount="1000.01")
    html = response.content.decode()
    assert response.status_code == 200 and "不接受超额回款" in html
    assert "确认并保存" not in html and not Payment.objects.exists()


@pytest.mark.parametrize(("who", "status"), [("owner", 403), ("manager", 403), ("teammate", 404), ("outsider", 404)])
def test_only_finance_reaches_the_step(client_for, request, owner, finance, who, status, today):
    order = record(owned_customer(owner, since=date(2026, 2, 1)), owner, "1000", day=today)
    assert step(client_for(request.getfixturevalue(who)), order).status_code == status


@pytest.mark.parametrize("scenario", ["own", "other", "pool", "leaver", "later"])
def test_the_effect_mirrors_what_the_confirmation_does(owner, teammate, finance, scenario, today):
    """sale_effect (read) against customer_record_sale (write), owner and deadline alike."""
    customer = owned_customer(owner, since=date(2026, 1, 20))
    order = record(customer, owner, "3000", day=date(2026, 2, 1))
    if scenario == "other":
        Customer.objects.filter(pk=customer.pk).update(owner=teammate, owned_since=date(2026, 2, 20))
    elif scenario == "pool":
        Customer.objects.filter(pk=customer.pk).update(owner=None, owned_since=None, deadline=None)
    elif scenario == "leaver":
        Customer.objects.filter(pk=customer.pk).update(owner=teammate)
        User.objects.filter(pk=owner.pk).update(is_active=False)
    elif scenario == "later":
        confirm(record(customer, owner, "500", day=date(2026, 2, 2)), finance, day=date(2026, 2, 2))
    customer = reload(customer)
    order = reload(order)
    effect = sale_effect(customer=customer, salesperson=reload(order.salesperson), day=today)
    ownership_services.customer_record_sale(
        customer=customer, salesperson=reload(order.salesperson), sale_date=today, now=at(today, 15)
    )
    after = reload(customer)
    expected_owner = effect.new_owner or effect.previous_owner
    assert after.owner == expected_owner, scenario
    assert after.deadline == effect.deadline, scenario
    assert effect.first_order == (scenario != "later")
    if scenario == "pool":
        assert after.owner == owner and after.owner_basis == Basis.FIRST_ORDER
