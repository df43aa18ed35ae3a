"""Collection pages: who may import and export (R6.4), the preview through the browser's forms,
export escaping, and no 500 on any input."""

import csv
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from collection.models import ImportBatch, ImportStatus
from customers.models import Customer

from .collection_helpers import csv_bytes, xlsx_bytes
from .factories import ContactFactory
from .helpers import owned_customer, pool_customer

pytestmark = pytest.mark.django_db

ROWS = [
    ["深圳市华强电子有限公司", "", "电子", "深圳市", "王伟", "13800138000", "", "福田区"],
    ["", "", "", "深圳市", "", "", "", ""],
    ["广州恒通贸易有限公司", "BAD", "", "", "", "", "", ""],
]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path


def _post_upload(client, data: bytes, name: str = "list.csv", source: str = "media"):
    return client.post(
        reverse("collection:import_new"),
        {"file": SimpleUploadedFile(name, data), "source": source},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_upload_shows_the_preview_and_imports(client_for, manager, department):
    client = client_for(manager)
    response = _post_upload(client, csv_bytes(ROWS, encoding="gbk"))
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse("collection:import_detail", args=[batch.pk])
    assert batch.status == ImportStatus.CHECKED and batch.encoding == "GBK"
    page = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "深圳市华强电子有限公司" in page and "The company name is empty." in page and "BAD" in page
    assert Customer.objects.count() == 0
    response = client.post(reverse("collection:import_run", args=[batch.pk]))
    assert response.status_code == 302
    assert Customer.objects.get().name == "深圳市华强电子有限公司"
    assert client.get(reverse("collection:import_detail", args=[batch.pk]) + "?verdict=invalid").status_code == 200


def test_unknown_headers_ask_for_the_mapping(client_for, owner):
    client = client_for(owner)
    data = csv_bytes([["甲公司", "13800138000"]], header=["列1", "列2"])
    response = _post_upload(client, data)
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.UPLOADED
    page = client.get(response.url).content.decode()
    assert "列1" in page
    response = client.post(reverse("collection:import_check", args=[batch.pk]), {"name": "0", "phone": "1"})
    batch.refresh_from_db()
    assert batch.status == ImportStatus.CHECKED and batch.new_count == 1
    for bad in ({"name": "x"}, {"name": "999"}, {"name": "0", "phone": "0"}, {}):
        assert client.post(reverse("collection:import_check", args=[batch.pk]), bad).status_code == 302


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("a.csv", b""),
        ("a.xlsx", b"PK\x03\x04garbage"),
        ("a.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 64),
        ("a.exe", b"MZ\x90\x00"),
        ("a.csv", b"\x80\x80,\xff\n"),
        ("a\x00.csv", "公司名称\n甲\x00公司\n".encode()),
    ],
)
def test_bad_files_never_500(client_for, owner, name, data):
    response = _post_upload(client_for(owner), data, name)
    assert response.status_code in (200, 302)


def test_upload_form_errors(client_for, owner):
    client = client_for(owner)
    assert client.post(reverse("collection:import_new"), {"source": "media"}).status_code == 200
    assert _post_upload(client, csv_bytes(ROWS), source="nope").status_code == 200
    assert not ImportBatch.objects.exists()


def test_who_may_open_imports(client_for, owner, teammate, outsider, manager, finance, admin_user):
    _post_upload(client_for(owner), xlsx_bytes(ROWS), "list.xlsx")
    batch = ImportBatch.objects.get()
    detail = reverse("collection:import_detail", args=[batch.pk])
    expected = {owner: 200, teammate: 404, outsider: 404, manager: 200, finance: 404, admin_user: 200}
    for user, status in expected.items():
        assert client_for(user).get(detail).status_code == status, user.username
    assert client_for(finance).get(reverse("collection:import_new")).status_code == 403
    assert client_for(admin_user).get(reverse("collection:import_new")).status_code == 403  # no department
    assert client_for(finance).get(reverse("collection:imports")).status_code == 403
    assert client_for(teammate).post(reverse("collection:import_run", args=[batch.pk])).status_code == 404
    assert client_for(owner).get(reverse("collection:import_run", args=[batch.pk])).status_code == 405
    assert client_for(owner).get(reverse("collection:import_rejected", args=[batch.pk, "pdf"])).status_code == 404
    assert client_for(owner).get(reverse("collection:import_progress", args=[batch.pk])).status_code == 204
    for pk in (0, 2**31, 2**63):
        assert client_for(owner).get(reverse("collection:import_detail", args=[pk])).status_code == 404


def test_cancel_deletes_the_file(client_for, owner, settings, tmp_path, django_capture_on_commit_callbacks):
    _post_upload(client_for(owner), csv_bytes(ROWS))
    batch = ImportBatch.objects.get()
    path = tmp_path / "imports" / batch.stored_path
    assert path.exists() and oct(path.stat().st_mode)[-3:] == "600"
    with django_capture_on_commit_callbacks(execute=True):
        client_for(owner).post(reverse("collection:import_cancel", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportStatus.CANCELLED and not path.exists()


# --- Export ------------------------------------------------------------------------------------------


@pytest.fixture
def export_world(owner, teammate, department, other_department):
    evil = owned_customer(owner, since=date(2026, 1, 5), name='=HYPERLINK("http://x","点我")', city="+cmd")
    ContactFactory(customer=evil, name="@SUM(A1)", phone="13800001111", email="a@example.com")
    owned_customer(teammate, since=date(2026, 1, 5), name="-2+3 贸易有限公司", address="\t=1+1")
    pool_customer(department, name="苏州嘉禾食品有限公司")
    pool_customer(other_department, name="北京外部门有限公司")


def _csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_export_is_for_managers_and_escapes_formulas(client_for, export_world, owner, manager, finance, admin_user):
    for user in (owner, finance):
        assert client_for(user).get(reverse("collection:customer_export", args=["xlsx"])).status_code == 403
    client = client_for(manager)
    assert client.get(reverse("collection:customer_export", args=["pdf"])).status_code == 404
    rows = _csv_rows(client.get(reverse("collection:customer_export", args=["csv"])))
    names = {r[0] for r in rows[1:]}
    assert names == {'\'=HYPERLINK("http://x","点我")', "'-2+3 贸易有限公司", "苏州嘉禾食品有限公司"}
    for row in rows[1:]:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value
    response = client.get(reverse("collection:customer_export", args=["xlsx"]))
    assert response.status_code == 200
    ws = load_workbook(io.BytesIO(response.content)).active
    cells = {c.value: c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str)}
    # The .xlsx holds the text as typed, in text cells (quotePrefix), never a formula.
    for typed in ('=HYPERLINK("http://x","点我")', "@SUM(A1)", "+cmd", "\t=1+1", "-2+3 贸易有限公司"):
        assert cells[typed].data_type == "s" and cells[typed].quotePrefix, typed
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert not any(v.startswith("'") for v in cells)
    assert not cells["苏州嘉禾食品有限公司"].quotePrefix
    # The list's filters apply; bad filters give an empty export, not a 500.
    rows = _csv_rows(client.get(reverse("collection:customer_export", args=["csv"]), {"in_pool": "true"}))
    assert [r[0] for r in rows[1:]] == ["苏州嘉禾食品有限公司"]
    rows = _csv_rows(client.get(reverse("collection:customer_export", args=["csv"]), {"tier": "zzz", "q": "a\x00"}))
    assert rows[1:] == []
    rows = _csv_rows(client_for(admin_user).get(reverse("collection:customer_export", args=["csv"])))
    assert len(rows) == 5


def test_customer_list_links_the_export_for_managers_only(client_for, manager, finance):
    assert "export.xlsx" in client_for(manager).get(reverse("customers:list")).content.decode()
    assert "export.xlsx" not in client_for(finance).get(reverse("customers:list")).content.decode()


def test_pages_render_for_each_role(client_for, owner, manager, finance, admin_user):
    pages = ["collection:imports", "collection:import_new", "collection:reports", "collection:report_new"]
    expected = {
        owner: (200, 200, 200, 200),
        manager: (200, 200, 200, 200),
        finance: (403, 403, 200, 403),
        admin_user: (200, 403, 200, 403),
    }
    for user, statuses in expected.items():
        for name, status in zip(pages, statuses, strict=True):
            assert client_for(user).get(reverse(name)).status_code == status, (user.username, name)
    nav = client_for(owner).get(reverse("collection:reports")).content.decode()
    assert reverse("collection:import_new") in nav


def test_the_same_file_warning_names_only_imports_the_user_may_open(client_for, owner, teammate, manager):
    """R6.4: a teammate uploading a list the owner already imported is told so, without the owner's
    name or a link to the owner's import; the manager, who sees both, gets the name and the link."""
    data = csv_bytes(ROWS)
    _post_upload(client_for(owner), data)
    first = ImportBatch.objects.get()
    client_for(owner).post(reverse("collection:import_run", args=[first.pk]))
    first.refresh_from_db()
    assert first.status == ImportStatus.DONE

    _post_upload(client_for(teammate), data)
    second = ImportBatch.objects.exclude(pk=first.pk).get()
    page = client_for(teammate).get(reverse("collection:import_detail", args=[second.pk]), HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert "already imported into your department's pool" in text
    assert str(owner) not in text and reverse("collection:import_detail", args=[first.pk]) not in text

    text = client_for(manager).get(reverse("collection:import_detail", args=[second.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert reverse("collection:import_detail", args=[first.pk]) in text.content.decode()


def test_report_archive_searches_the_work_plan(client_for, manager):
    from collection import services as collection_services

    report = collection_services.report_create(
        user=manager,
        data={"title": "食品", "category": "食品", "work_plan": "走访冷链仓库", "summary": "s", "needs_direction": "d"},
    )
    collection_services.report_publish(report=report, user=manager)
    page = client_for(manager).get(reverse("collection:reports"), {"q": "冷链仓库"}).content.decode()
    assert reverse("collection:report_detail", args=[report.pk]) in page
