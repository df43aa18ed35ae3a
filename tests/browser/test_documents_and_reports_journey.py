"""R4.1 and R1.3 in the browser: an owner uploads a business licence and downloads it (logged), a
renamed HTML file is refused; a manager writes an information report, a salesperson adds its
findings, the manager publishes it and every salesperson finds it in the archive."""

from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from collection.models import InfoReport, InfoTask, ReportStatus
from crm.dates import local_today
from customers.models import CustomerDocument, DocumentDownload
from notifications.models import Notification
from tests.helpers import owned_customer

from .conftest import login

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_upload_a_licence_download_it_and_a_disguised_file_is_refused(
    page: Page, live_server, owner, settings, tmp_path
) -> None:
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    customer = owned_customer(owner, since=local_today() - timedelta(days=5), name="常州新科电子有限公司")
    login(page, live_server, owner)
    page.goto(live_server.url + reverse("customers:detail", args=[customer.pk]))
    with page.expect_navigation():
        page.locator("#section-documents a[href$='/documents/upload/']").click()

    until = local_today() + timedelta(days=20)
    page.locator("#id_kind").select_option("business_licence")
    page.locator("#id_number").fill("91320400MA1XXXXXXX")
    page.locator("#id_valid_until").fill(until.isoformat())
    page.locator("#id_file").set_input_files({"name": "营业执照.pdf", "mimeType": "application/pdf", "buffer": PDF})
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()

    document = CustomerDocument.objects.get()
    assert (document.customer, document.valid_until, document.uploaded_by) == (customer, until, owner)
    section = page.locator("#section-documents")
    expect(section).to_contain_text("营业执照.pdf")
    expect(section).to_contain_text("91320400MA1XXXXXXX")

    with page.expect_download() as info:
        section.get_by_role("link", name="营业执照.pdf").click()
    assert info.value.suggested_filename == "营业执照.pdf"
    assert DocumentDownload.objects.filter(document=document, user=owner).count() == 1

    # An HTML page renamed to .pdf: refused by its content, nothing stored.
    page.goto(live_server.url + reverse("customers:document_upload", args=[customer.pk]))
    page.locator("#id_kind").select_option("other")
    page.locator("#id_number").fill("X-1")
    page.locator("#id_file").set_input_files(
        {"name": "发票.pdf", "mimeType": "application/pdf", "buffer": b"<html><script>alert(1)</script></html>"}
    )
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    expect(page.locator("main")).to_contain_text("PDF")
    assert CustomerDocument.objects.count() == 1


def test_report_written_researched_published_and_found(page: Page, live_server, owner, teammate, manager) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # "Publish this report …?"
    login(page, live_server, manager)
    page.goto(live_server.url + reverse("collection:report_new"))
    page.locator("#id_title").fill("华东冷链物流需求调研")
    page.locator("#id_category").fill("物流")
    page.locator("#id_information_needed").fill("冷链仓储的采购周期与预算。")
    page.locator("#id_work_plan").fill("两周内电话摸底二十家。")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    report = InfoReport.objects.get()
    assert report.status == ReportStatus.DRAFT and report.author == manager

    page.locator("#id_assignee").select_option(str(owner.pk))
    page.locator("#id_text").fill("电话摸底苏州、无锡的冷库")
    with page.expect_navigation():
        page.locator("form[action$='/tasks/'] button[type=submit]").click()
    task = InfoTask.objects.get()
    assert task.assignee == owner

    # The salesperson sees its task (the draft is not published) and adds its findings.
    page.context.clear_cookies()
    login(page, live_server, owner)
    page.goto(live_server.url + reverse("collection:reports"))
    with page.expect_navigation():
        page.get_by_role("link", name="华东冷链物流需求调研").first.click()
    page.locator(f"#id_t{task.pk}-findings").fill("六家冷库计划明年扩容，关注温控系统。")
    with page.expect_navigation():
        page.locator(f"#task-{task.pk} button[type=submit]").click()
    task.refresh_from_db()
    assert task.findings.startswith("六家冷库")

    # The manager compiles the summary and publishes: the salespeople are notified.
    page.context.clear_cookies()
    login(page, live_server, manager)
    page.goto(live_server.url + reverse("collection:report_edit", args=[report.pk]))
    page.locator("#id_summary").fill("二十家中六家明年扩容。")
    page.locator("#id_needs_direction").fill("温控系统与冷库改造。")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    with page.expect_navigation():
        page.locator(f"form[action='{reverse('collection:report_publish', args=[report.pk])}'] button").click()
    report.refresh_from_db()
    assert report.status == ReportStatus.PUBLISHED
    assert Notification.objects.filter(recipient=teammate, kind="info_report").exists()

    # Any salesperson of the department finds it in the archive by a word of its summary.
    page.context.clear_cookies()
    login(page, live_server, teammate)
    page.goto(live_server.url + reverse("collection:reports") + "?q=扩容")
    expect(page.locator("main")).to_contain_text("华东冷链物流需求调研")
