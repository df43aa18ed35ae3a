"""Issue 14 in a real browser, in Chinese: on a phone (390 × 844, touch) every main page fits the
screen (document.documentElement.scrollWidth ≤ 390) and its main action works by tap — the pool's
claim with its counters, my customers and a visit, the customer page's thumb bar (claim, order,
service request), registration, finance's confirmation step, and the other lists; at desk size,
the filters stay open, the columns sort and the visit plan's filter works."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect

from crm.dates import local_today
from customers.models import Customer
from followups.models import Visit
from sales.models import Order, Payment
from service.models import ServiceRequest

from ..factories import ContactFactory
from ..helpers import owned_customer, pool_customer
from ..sales_helpers import record
from .conftest import ARTIFACTS, LAUNCH_ARGS, login  # noqa: F401  (LAUNCH_ARGS: same Chromium flags)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A phone: 390 × 844 CSS pixels, touch, mobile viewport handling, Chinese, Shanghai."""
    context = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"phone-{request.node.name[-100:]}.png"), full_page=True)
    context.close()


def fits(page: Page) -> None:
    """Nothing overflows horizontally: the page is as wide as the phone."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url}: {width}px wide"


def in_thumb_reach(page: Page, selector: str) -> None:
    """The element is on screen horizontally (not pushed off to the right by a table)."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


# --- The pool ---------------------------------------------------------------------------------


def test_pool_on_a_phone_filters_behind_a_toggle_and_a_claim_by_tap(phone: Page, live_server, owner, department):
    first = pool_customer(department, name="深圳市华为技术有限公司", released_on=local_today() - timedelta(days=2))
    pool_customer(department, name="苏州嘉禾食品有限公司", released_on=local_today() - timedelta(days=3))
    login(phone, live_server, owner)
    phone.goto(live_server.url + reverse("ownership:pool"))
    fits(phone)

    # The filters wait behind the toggle; the search box and the first customers are in sight.
    expect(phone.locator("#id_tier")).to_be_hidden()
    expect(phone.locator("#id_q")).to_be_visible()
    row = phone.locator(f"#pool-row-{first.pk}")
    expect(row).to_be_in_viewport()
    phone.locator(".filter-toggle").tap()
    expect(phone.locator("#id_tier")).to_be_visible()
    fits(phone)
    phone.locator(".filter-toggle").tap()
    expect(phone.locator("#id_tier")).to_be_hidden()

    # A card per customer: name, tier, release date and reason, masked phone, the claim button.
    expect(row).to_contain_text("深圳市华为技术有限公司")
    expect(row).to_contain_text("2个月内未成交")
    expect(row.locator(".masked-value")).to_contain_text("****")
    in_thumb_reach(phone, f"#pool-row-{first.pk} button[type=submit]")

    url = phone.url
    row.locator("button[type=submit]").tap()
    first.refresh_from_db()
    expect(row).to_contain_text(f"归属于您至{first.deadline:%Y-%m-%d}" if first.deadline else "归属于您至")
    expect(phone.locator("#pool-limits [data-limit=claims]")).to_contain_text("今日已认领：1 / 20")
    expect(phone.locator("#pool-limits [data-limit=unsold]")).to_contain_text("未成交客户：1 / 200")
    assert phone.url == url
    first.refresh_from_db()
    assert first.owner == owner
    fits(phone)


# --- My customers and a visit -------------------------------------------------------------------


def test_my_customers_on_a_phone_and_a_visit_recorded_by_tap(phone: Page, live_server, owner):
    customer = owned_customer(owner, since=local_today() - timedelta(days=58), name="上海万通软件技术有限公司")
    ContactFactory(customer=customer, name="李敏明", phone="18429832014", is_primary=True)
    for i in range(12):
        owned_customer(owner, since=local_today() - timedelta(days=i), name=f"杭州锦程电子科技第{i}有限公司")
    login(phone, live_server, owner)
    phone.goto(live_server.url + reverse("customers:mine"))
    fits(phone)
    card = phone.locator("tbody tr", has_text="上海万通软件技术有限公司")
    expect(card).to_have_class("table-warning")  # inside the warning window
    expect(card.locator('[data-testid="days-left"]')).to_contain_text("剩余天数")
    expect(card.locator('a[href^="tel:"]')).to_have_text("18429832014")
    in_thumb_reach(phone, 'tbody tr:has-text("上海万通软件技术有限公司") .cell-action a')

    with phone.expect_navigation():
        card.locator(".cell-action a", has_text="记录回访").tap()
    expect(phone.locator("h1")).to_contain_text("记录回访")
    fits(phone)
    phone.locator("#id_discussed").fill("电话沟通二季度采购计划")
    phone.locator("#id_next_follow_up_on").fill((local_today() + timedelta(days=7)).isoformat())
    with phone.expect_navigation():
        phone.locator("main form button[type=submit]").tap()
    assert phone.url.startswith(live_server.url + reverse("customers:mine"))
    expect(phone.locator(".alert-success")).to_be_visible()
    assert Visit.objects.filter(customer=customer, salesperson=owner).exists()
    fits(phone)


# --- The customer page: thumb bar, claim, order, service request -----------------------------------


def test_customer_page_on_a_phone_claim_order_and_request_from_the_thumb_bar(
    phone: Page, live_server, owner, department
):
    customer = pool_customer(department, name="宁波明德医疗器械有限公司")
    login(phone, live_server, owner)
    phone.goto(live_server.url + reverse("customers:detail", args=[customer.pk]))
    fits(phone)
    bar = phone.locator("nav.quick-actions")
    expect(bar).to_be_in_viewport()
    with phone.expect_navigation():
        bar.locator("button", has_text="认领").tap()
    customer.refresh_from_db()
    assert customer.owner == owner
    expect(phone.locator(".alert-success")).to_contain_text("现已归属于您")
    # Right after a claim, no release note is asked for.
    expect(phone.locator('[data-testid="release-note-prompt"]')).to_have_count(0)
    fits(phone)

    bar = phone.locator("nav.quick-actions")
    expect(bar.locator("a")).to_have_text(["记录回访", "录入订单", "登记服务请求", "拨打电话"])
    with phone.expect_navigation():
        bar.locator("a", has_text="录入订单").tap()
    fits(phone)
    phone.locator("#id_amount").fill("12,800")
    phone.locator("#id_description").fill("超声设备配件一批")
    with phone.expect_navigation():
        phone.locator("main form button[type=submit]").tap()
    order = Order.objects.get(customer=customer)
    assert phone.url == live_server.url + reverse("sales:order_detail", args=[order.pk])
    fits(phone)

    phone.goto(live_server.url + reverse("customers:detail", args=[customer.pk]))
    with phone.expect_navigation():
        phone.locator("nav.quick-actions a", has_text="登记服务请求").tap()
    fits(phone)
    phone.locator("#id_kind").select_option("consultation")
    phone.locator("#id_channel").select_option("phone")
    phone.locator("#id_text").fill("咨询配件交期")
    with phone.expect_navigation():
        phone.locator("main form button[type=submit]").tap()
    req = ServiceRequest.objects.get(customer=customer)
    assert phone.url.endswith(reverse("service:detail", args=[req.pk]))
    fits(phone)
    phone.goto(live_server.url + reverse("service:list"))
    expect(phone.locator("tbody tr", has_text="宁波明德医疗器械有限公司")).to_be_visible()
    fits(phone)


def test_registration_on_a_phone(phone: Page, live_server, owner):
    login(phone, live_server, owner)
    phone.goto(live_server.url + reverse("ownership:register"))
    fits(phone)
    phone.locator("#id_name").fill("常州新科电子有限公司")
    phone.locator("#id_source").select_option("other")
    phone.locator("#id_contact_name").fill("周经理")
    phone.locator("#id_contact_phone").fill("13900001111")
    with phone.expect_navigation():
        phone.locator("main form button[type=submit]").tap()
    customer = Customer.objects.get(name="常州新科电子有限公司")
    assert customer.owner == owner
    assert phone.url.endswith(reverse("customers:detail", args=[customer.pk]))
    fits(phone)


# --- Finance's confirmation step ----------------------------------------------------------------


def test_finance_confirms_a_full_payment_on_a_phone(phone: Page, live_server, owner, finance):
    customer = owned_customer(owner, since=local_today() - timedelta(days=10), name="青岛星河信息技术有限公司")
    order = record(customer, owner, "18800", day=local_today())
    login(phone, live_server, finance)
    phone.goto(live_server.url + reverse("sales:queue"))
    fits(phone)
    expect(phone.locator("#id_salesperson")).to_be_hidden()  # the filters wait behind their toggle
    card = phone.locator(f'tr[data-order="{order.pk}"]')
    expect(card.locator(f"#amount-{order.pk}")).to_have_value("18800.00")  # the full amount, pre-filled
    with phone.expect_navigation():
        card.locator("button[type=submit]").tap()
    fits(phone)
    expect(phone.locator('[data-testid="confirm-amount"]')).to_have_text("¥18,800.00")
    expect(phone.locator('[data-testid="ownership-effect"]')).to_contain_text("张伟继续担任归属销售")
    assert not Payment.objects.exists()
    with phone.expect_navigation():
        phone.locator("main form button[type=submit]").tap()
    expect(phone.locator(".alert-success")).to_be_visible()
    order.refresh_from_db()
    assert order.paid_amount == 18800 and order.confirmed_on == local_today()


# --- The other lists ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "url_name"),
    [
        ("owner", "sales:orders"),
        ("owner", "followups:due"),
        ("owner", "followups:plan"),
        ("owner", "followups:visits"),
        ("owner", "collection:imports"),
        ("owner", "notifications:list"),
        ("owner", "rules:index"),
        ("manager", "ownership:pool"),
        ("manager", "customers:list"),
        ("manager", "sales:receivables"),
        ("manager", "ownership:release_log"),
        ("finance", "sales:queue"),
    ],
)
def test_the_other_main_pages_fit_a_phone(phone: Page, live_server, request, owner, department, who, url_name):
    for i in range(3):
        name = f"广州远景电子科技集团第{i}有限公司"
        customer = owned_customer(owner, since=local_today() - timedelta(days=i), name=name)
        customer.next_follow_up_on = local_today() - timedelta(days=1)
        customer.save()
        pool_customer(department, name=f"北京恒通贸易第{i}有限公司")
    login(phone, live_server, request.getfixturevalue(who))
    phone.goto(live_server.url + reverse(url_name))
    expect(phone.locator("main h1")).to_be_visible()
    fits(phone)


# --- At desk size -------------------------------------------------------------------------------


def test_pool_on_a_desk_filters_open_columns_sort_and_counters_follow_a_claim(
    page: Page, live_server, owner, department
):
    old = pool_customer(department, name="苏州嘉禾食品有限公司", released_on=local_today() - timedelta(days=9))
    new = pool_customer(department, name="深圳市华为技术有限公司", released_on=local_today() - timedelta(days=1))
    login(page, live_server, owner)
    page.goto(live_server.url + reverse("ownership:pool") + "?tier=c")
    expect(page.locator("#id_tier")).to_be_visible()  # open on desks
    expect(page.locator(".filter-toggle")).to_be_hidden()
    rows = page.locator("tbody tr")
    expect(rows.first).to_contain_text(new.name)  # newest in the pool first
    with page.expect_navigation():
        page.locator("thead a", has_text="入池时间").click()
    assert "ordering=released_at" in page.url and "tier=c" in page.url
    expect(page.locator("thead th[aria-sort=ascending]")).to_contain_text("入池时间")
    expect(rows.first).to_contain_text(old.name)
    expect(page.locator("#id_ordering")).to_have_value("released_at")

    page.locator(f"#pool-row-{old.pk} button[type=submit]").click()
    expect(page.locator(f"#pool-row-{old.pk}")).to_contain_text("归属于您至")
    expect(page.locator("#pool-limits [data-limit=claims]")).to_contain_text("今日已认领：1 / 20")


def test_visit_plan_filter_by_name_and_selected_only(page: Page, live_server, owner):
    for name in ("上海万通软件技术有限公司", "杭州锦程电子科技有限公司", "上海明德医疗器械有限公司"):
        owned_customer(owner, since=local_today(), name=name)
    login(page, live_server, owner)
    page.goto(live_server.url + reverse("followups:plan"))
    boxes = page.locator(".plan-customer-list .form-check")
    expect(boxes).to_have_count(3)
    page.locator("[data-plan-filter-text]").fill("上海")
    expect(boxes.filter(has_text="杭州锦程电子科技有限公司")).to_be_hidden()
    expect(boxes.filter(has_text="上海万通软件技术有限公司")).to_be_visible()
    boxes.filter(has_text="上海明德医疗器械有限公司").locator("input").check()
    page.locator("[data-plan-filter-text]").fill("")
    page.locator("[data-plan-filter-selected]").check()
    expect(boxes.filter(has_text="上海明德医疗器械有限公司")).to_be_visible()
    expect(boxes.filter(has_text="上海万通软件技术有限公司")).to_be_hidden()
    expect(page.locator("[data-plan-filter-count]")).to_have_text("已选：1")
    page.locator("[data-plan-filter-text]").press("Enter")  # Enter in the filter does not save the plan
    assert page.url.endswith(reverse("followups:plan"))


def test_the_rules_page_from_a_hint_lands_on_the_rule(page: Page, live_server, owner):
    owned_customer(owner, since=local_today())
    login(page, live_server, owner)
    page.goto(live_server.url + reverse("customers:mine"))
    with page.expect_navigation():
        page.locator("main a", has_text="客户何时退回客户池").click()
    assert page.url.endswith(reverse("rules:index") + "#deal-deadline")
    section = page.locator("#deal-deadline")
    expect(section).to_be_in_viewport()
    expect(section).to_contain_text("2个自然月")
    expect(page.locator("#claim-limits")).to_contain_text("200")
