"""A salesperson records an order on its customer, finance confirms a payment in the queue, and
the customer page shows the confirmed amount (R8.1, R4.4)."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from sales.models import Order

from ..helpers import owned_customer
from .conftest import login

pytestmark = pytest.mark.browser


def test_order_recorded_confirmed_and_shown_on_the_customer_page(page: Page, live_server, owner, finance) -> None:
    from crm.dates import local_today

    customer = owned_customer(owner, since=local_today())
    detail = live_server.url + reverse("customers:detail", args=[customer.pk])

    login(page, live_server, owner)
    page.goto(detail)
    page.click(f'a[href="{reverse("sales:order_create", args=[customer.pk])}"]')
    page.fill("#id_amount", "20,000")
    page.fill("#id_description", "伺服电机 10 台，含税")
    with page.expect_navigation():
        page.click("main form [type=submit]")
    order = Order.objects.get(customer=customer)
    # After saving, the salesperson lands on the order it just recorded.
    assert page.url == live_server.url + reverse("sales:order_detail", args=[order.pk])
    expect(page.locator("main")).to_contain_text("¥20,000.00")
    page.goto(detail)
    expect(page.locator("#section-sales")).to_contain_text("¥20,000.00")

    page.context.clear_cookies()
    login(page, live_server, finance)
    page.goto(live_server.url + reverse("sales:queue"))
    row = page.locator(f'tr[data-order="{order.pk}"]')
    expect(row).to_be_visible()
    row.locator(f"#amount-{order.pk}").fill("5000")
    with page.expect_navigation():
        row.locator("[type=submit]").click()
    # The confirmation step: amount, order and what it does to ownership, nothing saved yet.
    expect(page.locator('[data-testid="confirm-amount"]')).to_have_text("¥5,000.00")
    expect(page.locator('[data-testid="ownership-effect"]')).to_contain_text(str(owner))
    assert not order.payments.exists()
    with page.expect_navigation():
        page.locator("main form [type=submit]").click()
    assert page.url == live_server.url + reverse("sales:queue")
    expect(page.locator(".alert-success")).to_be_visible()

    page.goto(detail)
    expect(page.locator('[data-testid="confirmed-total"]')).to_have_text("¥20,000.00")
    expect(page.locator('[data-testid="tier-amount"]')).to_have_text("¥20,000.00")
    order.refresh_from_db()
    assert order.paid_amount == 5000 and order.confirmed_on == local_today()
