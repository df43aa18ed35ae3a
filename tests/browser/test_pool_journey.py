"""Issue 3's pool in a real browser: rows say why and when they entered the pool, the search box
finds two Chinese characters, the htmx claim swaps the row in place, a teammate's stale row says
the customer was just claimed, the claim shows in "my customers" and in the history (R5.9), a
previous owner in its cool-off sees when it may claim again (R5.8), and the Content-Security-
Policy is never violated."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from crm.dates import local_today
from customers.models import ReleaseReason
from ownership.models import Action
from tests.helpers import pool_customer

from .conftest import login

pytestmark = pytest.mark.browser

LANG = "zh-hans"
MARKER = "window.__poolJourneyMarker"


def zh(text: str, **values) -> str:
    with translation.override(LANG):
        message = gettext(text)
    return message % values if values else message


def label(choice) -> str:
    with translation.override(LANG):
        return str(choice.label)


def csp_watch(page: Page) -> list[str]:
    violations: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(message.text)

    page.on("console", on_console)
    return violations


def test_pool_search_claim_race_history_and_cooloff(
    page: Page, browser: Browser, live_server, owner, teammate, department
) -> None:
    today = local_today()
    huawei = pool_customer(
        department, name="深圳市华为技术有限公司", reason=ReleaseReason.NO_DEAL, released_on=today - timedelta(days=3)
    )
    other = pool_customer(
        department, name="苏州嘉禾食品有限公司", reason=ReleaseReason.NO_SALE, released_on=today - timedelta(days=4)
    )
    lost = pool_customer(
        department,
        name="杭州恒通贸易有限公司",
        released_from=owner,
        reason=ReleaseReason.NO_DEAL,
        released_on=today - timedelta(days=5),
    )
    pool_url = live_server.url + reverse("ownership:pool")
    violations = csp_watch(page)

    # The teammate opens the pool first: its row of Huawei will be stale.
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    try:
        mate = context.new_page()
        mate_violations = csp_watch(mate)
        login(mate, live_server, teammate)
        mate.goto(pool_url)
        expect(mate.locator(f"#pool-row-{huawei.pk} button[type=submit]")).to_be_visible()

        login(page, live_server, owner)
        page.goto(pool_url)

        # Every row says why and when it entered the pool.
        for customer, reason, days in ((huawei, ReleaseReason.NO_DEAL, 3), (other, ReleaseReason.NO_SALE, 4)):
            row = page.locator(f"#pool-row-{customer.pk}")
            expect(row).to_contain_text(label(reason))
            expect(row).to_contain_text((today - timedelta(days=days)).isoformat())

        # R5.8: the previous owner in its cool-off sees the day it may claim again, no button.
        lost_row = page.locator(f"#pool-row-{lost.pk}")
        until = (today - timedelta(days=5) + timedelta(days=30)).isoformat()
        expect(lost_row).to_contain_text(zh("You may claim again from %(date)s", date=until))
        expect(lost_row.locator("button")).to_have_count(0)

        # Search by two Chinese characters.
        page.fill("input[name=q]", "华为")
        with page.expect_navigation():
            page.locator("form[role=search] button[type=submit]").click()
        expect(page.locator(f"#pool-row-{huawei.pk}")).to_be_visible()
        expect(page.locator(f"#pool-row-{other.pk}")).to_have_count(0)
        expect(page.locator(f"#pool-row-{lost.pk}")).to_have_count(0)

        # The htmx claim swaps the row in place: no navigation, the page's JS state survives.
        page.evaluate(f"{MARKER} = 'still here'")
        url_before = page.url
        row = page.locator(f"#pool-row-{huawei.pk}")
        row.locator("button[type=submit]").click()
        expect(row).to_have_class("table-success")
        expect(row).to_contain_text(zh("Claimed"))
        assert page.evaluate(MARKER) == "still here"
        assert page.url == url_before
        huawei.refresh_from_db()
        assert huawei.owner == owner

        # The teammate's stale row: the claim answers in the row.
        mate_row = mate.locator(f"#pool-row-{huawei.pk}")
        mate.evaluate(f"{MARKER} = 'stale'")
        mate_row.locator("button[type=submit]").click()
        expect(mate_row.locator("[role=alert]")).to_have_text(
            zh("%(name)s has just been claimed by someone else.", name=huawei.name)
        )
        assert mate.evaluate(MARKER) == "stale"
        huawei.refresh_from_db()
        assert huawei.owner == owner

        # The claimer's customers and the customer's history (R5.9, R5.12).
        page.goto(live_server.url + reverse("customers:mine"))
        expect(page.locator("tbody tr", has_text=huawei.name)).to_have_count(1)
        page.locator("a", has_text=huawei.name).click()
        page.wait_for_url(live_server.url + reverse("customers:detail", args=[huawei.pk]))
        history = page.locator("#section-ownership table tbody tr")
        expect(history.filter(has_text=label(Action.CLAIMED))).to_have_count(1)
        expect(history.filter(has_text=label(Action.CLAIMED))).to_contain_text(str(owner))

        assert violations == [], violations
        assert mate_violations == [], mate_violations
    finally:
        context.close()
