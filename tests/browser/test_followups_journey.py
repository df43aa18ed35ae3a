"""R3 in the browser: log a visit from the customer page (htmx quick entry), then submit the
daily report that contains it. Selectors are ids and names, not texts (the UI is in Chinese)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from crm.dates import local_today
from followups.models import Report, ReportStatus, Visit
from tests.factories import ContactFactory
from tests.helpers import owned_customer

from .conftest import login

pytestmark = pytest.mark.browser


def test_log_a_visit_then_submit_the_daily_report(page: Page, live_server, owner) -> None:
    customer = owned_customer(owner, since=local_today() - timedelta(days=10), name="杭州远景智能装备有限公司")
    contact = ContactFactory(customer=customer, name="钱经理")
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda dialog: dialog.accept())  # "submit the report?" (data-confirm)

    login(page, live_server, owner)
    page.goto(live_server.url + reverse("customers:detail", args=[customer.pk]))
    section = page.locator("#followups-visits")
    expect(section).to_be_visible()
    form = page.locator("#visit-quick-form")
    if not form.is_visible():
        section.locator("summary").click()
    form.locator("#id_channel").select_option("phone")
    form.locator("#id_contact").select_option(str(contact.pk))
    form.locator("#id_discussed").fill("电话沟通二季度采购计划，对方有意试单")
    form.locator("#id_achievements").fill("对方同意下周安排样品测试")
    form.locator("#id_next_follow_up_on").fill((local_today() + timedelta(days=7)).isoformat())
    form.locator("[type=submit]").click()

    # htmx swaps the section in place: the visit is in the timeline, the page did not reload.
    expect(page.locator("#followups-visits .visit-timeline")).to_contain_text("电话沟通二季度采购计划")
    visit = Visit.objects.get()
    assert (visit.customer_id, visit.contact_id, visit.channel) == (customer.pk, contact.pk, "phone")

    page.goto(live_server.url + reverse("followups:my_report", args=["daily"]))
    expect(page.locator(".report-visits")).to_contain_text("电话沟通二季度采购计划")
    page.locator("#id_summary").fill("今天电话跟进一家客户，对方有试单意向。")
    with page.expect_navigation():
        page.locator("#report-form button[name=submit]").click()

    report = Report.objects.get(salesperson=owner)
    assert page.url.endswith(reverse("followups:report_detail", args=[report.pk]))
    assert report.status == ReportStatus.SUBMITTED and report.period_start == local_today()
    assert [v["id"] for v in report.content["visits"]] == [visit.pk]
    expect(page.locator(".report-summary")).to_contain_text("今天电话跟进一家客户")
    expect(page.locator(".report-visits")).to_contain_text("电话沟通二季度采购计划")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
