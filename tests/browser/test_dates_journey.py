"""Date fields keep their value in Chinese (issue 11, data loss).

Chromium's `<input type="date">` shows only an ISO value (2026-12-05); with Django's Chinese
formats the forms rendered 2026/12/05 and the browser showed the field empty, so a visit
correction saved unchanged erased its next follow-up. Each form with a pre-filled date is opened
in Chinese and the field's value read as the browser holds it (an empty value is what the user
saw)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from crm.dates import add_months, local_today
from followups.models import Visit
from followups.services import VisitInput, visit_record
from sales.services import order_create
from service.models import RequestChannel, RequestKind
from service.services import RequestInput, request_log, request_plan
from tests.factories import ContactFactory
from tests.helpers import at, owned_customer

from .conftest import login

pytestmark = pytest.mark.browser


def _value(page: Page, selector: str) -> str:
    field = page.locator(selector)
    expect(field).to_be_visible()
    return field.input_value()


def _visit(customer, owner, *, next_follow_up_on):
    today = local_today()
    return visit_record(
        customer=customer,
        user=owner,
        data=VisitInput(
            visited_at=at(today - timedelta(days=1), 15, 30),
            channel="visit",
            discussed="上门沟通年度框架协议",
            next_follow_up_on=next_follow_up_on,
        ),
    )


def test_a_salespersons_forms_show_their_pre_filled_dates_in_chinese(page: Page, live_server, owner) -> None:
    today = local_today()
    customer = owned_customer(owner, since=today - timedelta(days=20), name="苏州工业园区恒润精密机械有限公司")
    ContactFactory(customer=customer, name="周经理")
    follow_up = today + timedelta(days=9)
    visit = _visit(customer, owner, next_follow_up_on=follow_up)
    planned = request_log(
        user=owner,
        data=RequestInput(kind=RequestKind.COMPLAINT, channel=RequestChannel.PHONE, text="交货延迟两周"),
        customer=customer,
    )
    expected_on = today + timedelta(days=12)
    request_plan(request=planned, user=owner, expected_on=expected_on, told_customer="下周三前补发")
    fresh = request_log(
        user=owner,
        data=RequestInput(kind=RequestKind.CONSULTATION, channel=RequestChannel.PHONE, text="询问新品报价"),
        customer=customer,
    )

    login(page, live_server, owner)
    assert page.locator("html").get_attribute("lang") == "zh-hans"

    # The visit correction: next follow-up and the visit's time.
    page.goto(live_server.url + reverse("followups:visit_edit", args=[visit.pk]))
    assert _value(page, "#id_next_follow_up_on") == follow_up.isoformat()
    assert _value(page, "#id_visited_at") == f"{(today - timedelta(days=1)).isoformat()}T15:30"

    # A new visit: its time is pre-filled with now.
    page.goto(live_server.url + reverse("followups:visit_new") + f"?customer={customer.pk}")
    assert _value(page, "#id_visited_at").startswith(today.isoformat() + "T")

    # Service: the handling plan suggests the due day; moving a plan starts from its date.
    page.goto(live_server.url + reverse("service:detail", args=[fresh.pk]))
    assert _value(page, "#id_plan-expected_on") == fresh.due_on.isoformat()
    page.goto(live_server.url + reverse("service:detail", args=[planned.pk]))
    assert _value(page, "#id_move-new_date") == expected_on.isoformat()

    # Document validity: the dates typed survive a refused upload.
    page.goto(live_server.url + reverse("customers:document_upload", args=[customer.pk]))
    valid_until = today + timedelta(days=365)
    page.fill("#id_valid_until", valid_until.isoformat())
    page.set_input_files(
        "input[type=file]", files=[{"name": "licence.pdf", "mimeType": "application/pdf", "buffer": b"not a pdf"}]
    )
    page.locator("form[enctype] [type=submit]").click()
    expect(page.locator(".invalid-feedback, .alert-danger").first).to_be_visible()
    assert _value(page, "#id_valid_until") == valid_until.isoformat()

    # Filters given a date in the address (a bookmarked or shared link) show it.
    since = today - timedelta(days=30)
    page.goto(live_server.url + reverse("ownership:pool") + f"?released_from={since.isoformat()}")
    assert _value(page, "#id_released_from") == since.isoformat()
    page.goto(live_server.url + reverse("collection:reports") + f"?date_from={since.isoformat()}")
    assert _value(page, "#id_date_from") == since.isoformat()


def test_a_managers_and_finances_forms_show_their_pre_filled_dates_in_chinese(
    browser, live_server, owner, manager, finance
) -> None:
    today = local_today()
    customer = owned_customer(owner, since=today - timedelta(days=40), name="宁波海曙鼎盛国际贸易有限公司")
    order = order_create(
        customer=customer, user=owner, amount=Decimal("38000.00"), deal_date=today, description="不锈钢管件一批"
    )

    for user, checks in (
        (
            manager,
            [
                (
                    reverse("ownership:extend", args=[customer.pk]),
                    "#id_new_deadline",
                    add_months(customer.deadline, 1).isoformat(),
                ),
                (
                    reverse("ownership:release_log") + f"?date_from={(today - timedelta(days=7)).isoformat()}",
                    "#id_date_from",
                    (today - timedelta(days=7)).isoformat(),
                ),
            ],
        ),
        (
            finance,
            [
                (reverse("sales:order_detail", args=[order.pk]), "#id_received_on", today.isoformat()),
                (
                    reverse("sales:queue") + f"?date_from={(today - timedelta(days=3)).isoformat()}",
                    "#id_date_from",
                    (today - timedelta(days=3)).isoformat(),
                ),
            ],
        ),
    ):
        context = browser.new_context(
            locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        try:
            login(page, live_server, user)
            for url, selector, expected in checks:
                page.goto(live_server.url + url)
                assert _value(page, selector) == expected, (url, selector)
        finally:
            context.close()


def test_saving_a_visit_correction_unchanged_keeps_its_next_follow_up(page: Page, live_server, owner) -> None:
    today = local_today()
    customer = owned_customer(owner, since=today - timedelta(days=20), name="东莞市长安镇联创电子有限公司")
    follow_up = today + timedelta(days=14)
    visit = _visit(customer, owner, next_follow_up_on=follow_up)

    login(page, live_server, owner)
    page.goto(live_server.url + reverse("followups:visit_edit", args=[visit.pk]))
    with page.expect_navigation():
        page.locator("form[method=post] [type=submit]").last.click()

    expect(page.locator(".alert-success")).to_be_visible()
    visit = Visit.objects.get(pk=visit.pk)
    assert visit.next_follow_up_on == follow_up
    assert visit.discussed == "上门沟通年度框架协议"
    customer.refresh_from_db()
    assert customer.next_follow_up_on == follow_up


def test_phone_size_visit_correction_shows_its_dates(browser, live_server, owner) -> None:
    today = local_today()
    customer = owned_customer(owner, since=today - timedelta(days=20), name="佛山市顺德区美达家电有限公司")
    follow_up = today + timedelta(days=5)
    visit = _visit(customer, owner, next_follow_up_on=follow_up)
    context = browser.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page = context.new_page()
    try:
        login(page, live_server, owner)
        page.goto(live_server.url + reverse("followups:visit_edit", args=[visit.pk]))
        assert _value(page, "#id_next_follow_up_on") == follow_up.isoformat()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()
