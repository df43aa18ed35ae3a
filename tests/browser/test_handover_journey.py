"""R7.1 in a real browser, in Chinese, at desktop and at phone size (390 × 844): a manager opens a
resignation handover, the leaver writes a note per customer (one page after another), the manager
sends them in bulk (ticked ones, then "all the filter finds"), the receivers confirm (all at once,
and one from its page), the manager completes, the account is deactivated: its open page logs it
out and it can no longer log in. No page scrolls sideways on the phone."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import Browser, Page, expect

from accounts import roles
from crm.dates import local_today
from customers.models import Basis
from handovers.models import Handover, HandoverItem, State
from tests.factories import UserFactory
from tests.helpers import owned_customer
from tests.sales_helpers import confirm, record

from .conftest import LOGIN_SUBMIT, login

pytestmark = pytest.mark.browser

LANG = "zh-hans"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def zh(text: str, **values) -> str:
    with translation.override(LANG):
        message = gettext(text)
    return message % values if values else message


def no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def new_page(browser: Browser, size: str) -> Page:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport=VIEWPORTS[size])
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm asks before submitting
    return page


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_r7_1_resignation_from_opening_to_a_closed_account(
    page: Page, browser: Browser, live_server, owner, teammate, manager, finance, department, size
) -> None:
    today = local_today()
    page.set_viewport_size(VIEWPORTS[size])
    page.on("dialog", lambda dialog: dialog.accept())
    receiver2 = UserFactory(username="wanglei", display_name="王磊", role="salesperson", department=department)
    names = ["宁波德润精密机械有限公司", "厦门蓝海食品有限公司", "苏州嘉禾电子有限公司", "杭州恒通贸易有限公司"]
    customers = [owned_customer(owner, since=today - timedelta(days=20), name=n) for n in names]
    order = record(customers[0], owner, "10000.00", day=today - timedelta(days=3))
    confirm(order, finance, "4000.00", day=today - timedelta(days=2))
    assert roles.SALESPERSON in owner.role_names
    base = live_server.url

    # 1. The manager opens a resignation handover of 张伟.
    login(page, live_server, manager)
    page.goto(base + reverse("handovers:list"))
    no_sideways_scroll(page)
    with page.expect_navigation():
        page.get_by_role("link", name=zh("Open a handover")).click()
    page.locator("#handover-start select[name=leaver]").select_option(str(owner.pk))
    page.locator("#handover-start select[name=kind]").select_option("resignation")
    with page.expect_navigation():
        page.locator("#handover-start button[type=submit]").click()
    expect(page.locator("#handover-open")).to_be_visible()
    no_sideways_scroll(page)
    with page.expect_navigation():
        page.locator("#handover-open button[type=submit]").click()
    handover = Handover.objects.get()
    expect(page.locator("#items-table tbody tr")).to_have_count(4)
    expect(page.locator("#items-table")).to_contain_text("¥6,000.00")
    no_sideways_scroll(page)

    # 2. The leaver writes a note per customer, one page after another.
    leaver = new_page(browser, size)
    login(leaver, live_server, owner)
    leaver.goto(base + reverse("handovers:detail", args=[handover.pk]))
    nag = (
        "Write a handover note for each customer: the situation, key contacts, the stage reached, the "
        "receivables, what was promised."
    )
    expect(leaver.locator(".alert-warning").first).to_contain_text(zh(nag))
    no_sideways_scroll(leaver)
    with leaver.expect_navigation():
        leaver.locator("#items-table a").first.click()
    for _ in range(4):
        expect(leaver.locator("#note-form")).to_be_visible()
        no_sideways_scroll(leaver)
        leaver.fill("#id_situation", "在谈明年的框架协议")
        leaver.fill("#id_key_contacts", "采购部钱经理 13500001111")
        leaver.fill("#id_stage", "已报价，等审批")
        leaver.fill("#id_receivables_note", "余款月底前付清")
        with leaver.expect_navigation():
            leaver.locator("#save-note").click()
    assert reverse("handovers:detail", args=[handover.pk]) in leaver.url
    assert HandoverItem.objects.filter(handover=handover, note_written_at__isnull=False).count() == 4

    # 3. The manager sends two ticked customers to 李娜, then all the rest the filter finds to 王磊.
    page.goto(base + reverse("handovers:detail", args=[handover.pk]))
    boxes = page.locator("#items-table input[name=items]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.locator("#destination").select_option(str(teammate.pk))
    with page.expect_navigation():
        page.locator("#send-items").click()
    expect(page.locator(".alert-success")).to_contain_text(str(teammate))
    page.goto(base + reverse("handovers:detail", args=[handover.pk]) + "?status=unsent")
    expect(page.locator("#items-table tbody tr")).to_have_count(2)
    page.locator("#all-matching").check()
    page.locator("#destination").select_option(str(receiver2.pk))
    with page.expect_navigation():
        page.locator("#send-items").click()
    expect(page.locator(".alert-success")).to_contain_text(str(receiver2))
    no_sideways_scroll(page)
    assert set(HandoverItem.objects.filter(handover=handover).values_list("receiver_id", flat=True)) == {
        teammate.pk,
        receiver2.pk,
    }

    # 4. 李娜 confirms all of hers at once; 王磊 confirms one from its page, then the other.
    mate = new_page(browser, size)
    login(mate, live_server, teammate)
    mate.goto(base + reverse("handovers:detail", args=[handover.pk]))
    expect(mate.locator("#items-table tbody tr")).to_have_count(2)
    no_sideways_scroll(mate)
    with mate.expect_navigation():
        mate.locator("#confirm-all").click()
    expect(mate.locator(".alert-success")).to_be_visible()
    other = new_page(browser, size)
    login(other, live_server, receiver2)
    other.goto(base + reverse("handovers:detail", args=[handover.pk]))
    with other.expect_navigation():
        other.locator("#items-table a").first.click()
    expect(other.locator(".handover-note")).to_contain_text("采购部钱经理")
    no_sideways_scroll(other)
    with other.expect_navigation():
        other.locator("#confirm-item").click()
    other.locator("#items-table input[name=items]").first.check()
    with other.expect_navigation():
        other.locator("#confirm-ticked").click()
    assert not HandoverItem.objects.filter(handover=handover, confirmed_at__isnull=True).exists()

    # 5. The manager completes: the customers change hands, the account is deactivated.
    page.goto(base + reverse("handovers:detail", args=[handover.pk]))
    expect(page.locator(".alert-success").first).to_contain_text(
        zh("Every customer is sent to the pool or confirmed by its receiver: complete the handover.")
    )
    with page.expect_navigation():
        page.locator("#complete-handover").click()
    expect(page.locator(".alert-success").first).to_contain_text(str(owner))
    handover.refresh_from_db()
    owner.refresh_from_db()
    assert handover.state == State.COMPLETED and not owner.is_active
    customers[0].refresh_from_db()
    assert customers[0].owner_basis == Basis.HANDED_OVER and customers[0].owner_id in (teammate.pk, receiver2.pk)

    # The new owner's customer page: basis "handed over", the history names the handover.
    receiver_page = mate if customers[0].owner_id == teammate.pk else other
    receiver_page.goto(base + reverse("customers:detail", args=[customers[0].pk]))
    expect(receiver_page.locator("#section-ownership")).to_contain_text(zh("Handed over"))
    expect(receiver_page.locator("#section-ownership")).to_contain_text(f"#{handover.pk}")
    no_sideways_scroll(receiver_page)

    # 6. The leaver's open page logs it out at once; it can no longer log in.
    leaver.goto(base + reverse("handovers:detail", args=[handover.pk]))
    assert reverse("accounts:login") in leaver.url
    leaver.fill("#id_username", owner.username)
    leaver.fill("#id_password", "pass-1234-word")
    with leaver.expect_navigation():
        leaver.click(LOGIN_SUBMIT)
    assert reverse("accounts:login") in leaver.url
    expect(leaver.locator(".errorlist, .alert-danger, .invalid-feedback").first).to_be_visible()

    # 7. The report shows the notes and who confirmed; it fits a phone too.
    page.goto(base + reverse("handovers:report"))
    expect(page.locator(f"#report-handover-{handover.pk}")).to_contain_text("在谈明年的框架协议")
    expect(page.locator(f"#report-handover-{handover.pk}")).to_contain_text(str(receiver2))
    no_sideways_scroll(page)
    for p in (leaver, mate, other):
        p.context.close()
