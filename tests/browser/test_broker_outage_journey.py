"""Issue 15 in a real browser, in Chinese, at desktop and phone size: a salesperson uploads a large
list while the task queue (Redis) is down. The page answers at once, says the work waits, and,
once the queue is back and the scheduled sweep has run, reloads by itself with the checked rows."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from collection import services
from collection.models import ImportBatch, ImportStatus
from tests.broker_helpers import broker_back, closed_port
from tests.collection_helpers import csv_bytes, generated_rows

from .conftest import login

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
@pytest.mark.django_db(transaction=True)
def test_upload_while_the_queue_is_down_waits_then_starts_by_itself(
    page: Page,
    live_server,
    owner,
    settings,
    tmp_path,
    monkeypatch,
    broker_at,
    viewport,
):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    monkeypatch.setattr(services, "LARGE_ROWS", 3)  # a 10,000-row file's path, with 6 rows
    page.set_viewport_size(viewport)
    path = tmp_path / "协会名录.csv"
    path.write_bytes(csv_bytes(generated_rows(6)))
    broker_at(f"redis://127.0.0.1:{closed_port()}/0")

    login(page, live_server, owner)
    page.goto(live_server.url + reverse("collection:import_new"))
    page.set_input_files("#id_file", str(path))
    page.select_option("#id_source", "association")
    with page.expect_navigation():
        page.click("form [type=submit].btn-primary")

    expect(page.locator(".alert-warning").first).to_contain_text("后台任务队列暂时无法连接")
    progress = page.locator("#import-progress")
    expect(progress).to_have_attribute("data-state", "waiting")
    expect(progress).to_contain_text("正在等待后台处理")
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.CHECKING and batch.is_waiting

    broker_back()
    assert services.imports_resume_stalled() == [batch.pk]  # the scheduled sweep, once a minute
    # The progress bar polls every second: the page reloads with the verdicts.
    expect(page.locator("table.import-rows tbody tr")).to_have_count(6, timeout=15_000)
    expect(page.locator("#import-progress")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
