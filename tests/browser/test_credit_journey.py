"""R5.5 / R2.3 in a real browser, in Chinese, at desktop and phone size: finance opens the credit
page of an owned customer, reads what bad credit will do before saving (the owner loses it, the
pool, the flag), saves, and finds a problem customer in the pool with its reason and history."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import Page, expect

from crm.dates import local_today
from customers.models import CreditStatus
from ownership.models import Action
from tests.helpers import owned_customer, reload

from .conftest import login

pytestmark = pytest.mark.browser

LANG = "zh-hans"


def zh(text: str, **values) -> str:
    with translation.override(LANG):
        message = gettext(text)
    return message % values if values else message


@pytest.mark.parametrize("size", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_r5_5_finance_sets_bad_credit_and_the_customer_returns_to_the_pool(
    page: Page, live_server, owner, finance, size
) -> None:
    page.set_viewport_size({"width": size[0], "height": size[1]})
    customer = owned_customer(owner, since=local_today() - timedelta(days=10), name="青岛海纳新能源有限公司")
    login(page, live_server, finance)
    page.goto(live_server.url + reverse("customers:detail", args=[customer.pk]))
    with page.expect_navigation():
        page.get_by_role("link", name=zh("Change credit status")).click()

    warning = page.locator("#credit-effect-bad")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(str(owner))
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.select_option("#id_status", "bad")
    page.fill("#id_note", "逾期90天未回款，已发律师函")
    with page.expect_navigation():
        page.locator("form:has(#id_note) [type=submit]").click()

    expect(page.locator(".alert-success")).to_contain_text(
        zh("Credit status changed: %(name)s is a problem customer, in the pool.", name=customer.name)
    )
    customer = reload(customer)
    assert customer.owner is None and customer.is_problem and customer.credit_status == CreditStatus.BAD
    with translation.override(LANG):
        marked = str(Action.PROBLEM.label)
    expect(page.locator("#section-ownership")).to_contain_text(marked)
    # Finance reads its reason in the credit history; the problem reason is the file's (R6.4).
    expect(page.locator("body")).to_contain_text("逾期90天未回款，已发律师函")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
