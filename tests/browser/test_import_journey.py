"""Issue 7's journey in a real browser: a manager uploads a small GBK CSV of a fair's visitors,
sees each row's verdict before anything is saved (new, duplicate of a pool customer, invalid),
imports, and finds the new customers in the pool (R1.2)."""

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from collection.models import ImportBatch, ImportStatus
from customers.models import Customer, ReleaseReason
from tests.collection_helpers import csv_bytes
from tests.helpers import pool_customer

from .conftest import login

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_upload_preview_import_and_see_them_in_the_pool(
    page: Page, live_server, manager, department, settings, tmp_path
):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    pool_customer(department, name="苏州嘉禾食品有限公司")
    path = tmp_path / "展会名录.csv"
    path.write_bytes(
        csv_bytes(
            [
                ["深圳市澜海电子有限公司", "", "电子", "深圳市", "陈先生", "13712345600", "", "宝安区"],
                ["东莞市恒启精密有限公司", "", "制造", "东莞市", "林女士", "13712345601", "", ""],
                ["苏州嘉禾食品有限公司", "", "", "", "", "", "", ""],
                ["", "", "", "深圳市", "无名", "", "", ""],
            ],
            encoding="gbk",
        )
    )
    login(page, live_server, manager)
    page.goto(live_server.url + reverse("collection:import_new"))
    page.set_input_files("#id_file", str(path))
    page.select_option("#id_source", "media")
    with page.expect_navigation():
        page.click("form [type=submit].btn-primary")
    rows = page.locator("table.import-rows tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator("tr[data-row='2'] .badge")).to_have_class("badge verdict-badge-new")
    expect(page.locator("tr[data-row='4'] .badge")).to_have_class("badge verdict-badge-duplicate")
    expect(page.locator("tr[data-row='4']")).to_contain_text("苏州嘉禾食品有限公司")
    expect(page.locator("tr[data-row='5'] .badge")).to_have_class("badge verdict-badge-invalid")
    assert not Customer.objects.filter(release_reason=ReleaseReason.IMPORTED).exists(), "nothing saved before import"
    with page.expect_navigation():
        page.click("#import-run")
    expect(page.locator("[data-count='new']")).to_have_text("2")
    assert ImportBatch.objects.get().status == ImportStatus.DONE
    page.goto(live_server.url + reverse("ownership:pool") + "?release_reason=imported")
    expect(page.locator("main")).to_contain_text("深圳市澜海电子有限公司")
    expect(page.locator("main")).to_contain_text("东莞市恒启精密有限公司")
