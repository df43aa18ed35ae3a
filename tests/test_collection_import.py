"""R1.2 imports: verdicts of every kind of bad row, encodings, all-or-nothing writes, the same file
twice, large files as Celery tasks, the rejected-rows report."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from collection import parsing, services
from collection.models import ImportBatch, ImportRow, ImportStatus, Verdict
from collection.selectors import previous_import
from crm.errors import DomainError, PermissionDenied
from customers.models import Contact, Customer, ReleaseReason
from ownership.models import Action, OwnershipEvent

from .collection_helpers import HEADER, csv_bytes, generated_rows, xlsx_bytes
from .factories import ContactFactory, make_credit_code
from .helpers import owned_customer, pool_customer

# Messages are asserted in English; tests/test_translations.py checks that they are translated.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

GOOD_CODE = "91440300MA5FXXXX0X"  # replaced below by a valid one


def _upload(user, data: bytes, name: str = "list.csv", source: str = "association"):
    return services.import_upload(user=user, file_name=name, data=data, source=source, language="en")


def _check(batch, user):
    return services.import_check(batch=batch, user=user, mapping=batch.mapping)


def _verdicts(batch) -> dict[int, tuple[str, str]]:
    return {r.number: (r.verdict, r.reason) for r in ImportRow.objects.filter(batch=batch)}


def _state() -> tuple:
    return (Customer.objects.count(), Contact.objects.count(), OwnershipEvent.objects.count())


# --- Parsing -------------------------------------------------------------------------------------


def test_mapping_is_guessed_from_chinese_and_english_headers():
    assert parsing.guess_mapping(HEADER) == {
        "name": 0,
        "credit_code": 1,
        "industry": 2,
        "city": 3,
        "contact": 4,
        "phone": 5,
        "email": 6,
        "address": 7,
    }
    english = ["Company Name", "Address", "E-mail", "Contact person", "Mobile", "Unified Social Credit Code"]
    assert parsing.guess_mapping(english) == {
        "name": 0,
        "credit_code": 5,
        "industry": None,
        "city": None,
        "contact": 3,
        "phone": 4,
        "email": 2,
        "address": 1,
    }
    other = ["序号", "企业名称", "联系电话", "电子邮箱", "所在城市", "所属行业"]
    mapping = parsing.guess_mapping(other)
    assert (mapping["name"], mapping["phone"], mapping["email"], mapping["city"], mapping["industry"]) == (
        1,
        2,
        3,
        4,
        5,
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings_are_detected(encoding):
    data = csv_bytes(
        [["深圳市华强电子有限公司", "", "电子", "深圳市", "王伟", "13800138000", "", "福田区"]], encoding=encoding
    )
    table = parsing.read_table("list.csv", data)
    assert table.encoding == {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 BOM", "gbk": "GBK"}[encoding]
    assert table.headers == HEADER
    assert next(iter(table.rows))[1][0] == "深圳市华强电子有限公司"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("list.csv", b"", "empty"),
        ("list.xlsx", b"PK\x03\x04 not really a zip", "not a valid .xlsx"),
        ("list.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
        ("list.pdf", b"%PDF-1.4", "Upload an Excel workbook"),
        ("list.csv", b"\x80\x80\x80,\xff\xff\n", "neither UTF-8 nor GBK"),
        ("list.csv", b"\n\n\n", "no header row"),
    ],
)
def test_unreadable_files_are_refused_and_nothing_is_kept(owner, name, data, message, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    with pytest.raises(DomainError, match=message):
        _upload(owner, data, name)
    assert not ImportBatch.objects.exists()
    assert not any((tmp_path / "imports").glob("*")) if (tmp_path / "imports").exists() else True


# --- Verdicts ---------------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def existing(department, teammate):
    """An owned customer (teammate's) and a pool customer, for duplicates of R5.1."""
    owned = owned_customer(teammate, since=__import__("datetime").date(2026, 1, 5), name="宁波德润精密机械有限公司")
    ContactFactory(customer=owned, phone="13911112222")
    pooled = pool_customer(department, name="苏州嘉禾食品有限公司")
    return {"owned": owned, "pooled": pooled}


def bad_rows(existing) -> list[list[str]]:
    good_code = make_credit_code()
    return [
        # row 2: new
        ["深圳市华强电子有限公司", good_code, "电子", "深圳市", "王伟", "13800138000", "wang@example.com", "福田区"],
        # row 3: empty name
        ["", "", "", "深圳市", "李雷", "13800138001", "", ""],
        # row 4: bad credit code (check character)
        ["广州恒通贸易有限公司", good_code[:17] + ("0" if good_code[17] != "0" else "1"), "", "", "", "", "", ""],
        # row 5: duplicate inside the file (same name as row 2, other spacing and width)
        ["深圳市 华强电子（有限）公司", "", "", "", "", "", "", ""],
        # row 6: duplicate of the teammate's customer (its credit code)
        ["宁波德润机械", existing["owned"].credit_code, "", "", "", "", "", ""],
        # row 7: duplicate of a pool customer (its name)
        ["苏州嘉禾食品有限公司", "", "", "", "", "", "", ""],
        # row 8: a NUL byte
        ["杭州\x00天成科技有限公司", "", "", "", "", "", "", ""],
        # row 9: over-long city, bad phone, bad email
        ["成都博远化工有限公司", "", "化工", "城" * 31, "赵六", "12", "not-an-email", ""],
        # row 10: duplicate of the teammate's customer by contact phone
        ["武汉远景物流有限公司", "", "物流", "武汉市", "钱七", "+86 139 1111 2222", "", ""],
        # row 11: new, pool-ready, GBK-only characters in the address
        ["北京中联建设有限公司", "", "建筑", "北京市", "", "", "", "朝阳区望京街道"],
    ]


def test_every_kind_of_bad_row_gets_a_clear_verdict_and_nothing_is_saved(owner, existing, media):
    before = _state()
    batch = _check(_upload(owner, csv_bytes(bad_rows(existing))), owner)
    assert batch.status == ImportStatus.CHECKED
    assert _state() == before, "checking saves no customer"
    v = _verdicts(batch)
    assert v[2] == (Verdict.NEW, "")
    assert v[3][0] == Verdict.INVALID and "company name is empty" in v[3][1]
    assert v[4][0] == Verdict.INVALID and "check character is wrong" in v[4][1]
    assert v[5] == (Verdict.IN_FILE, "Same company name as row 2 of this file.")
    assert v[6][0] == Verdict.DUPLICATE
    assert "owned by 李娜" in v[6][1] and "credit code" in v[6][1]
    assert "13911112222" not in v[6][1], "contacts of another's customer are never shown"
    assert v[7][0] == Verdict.DUPLICATE and "in the pool" in v[7][1]
    assert v[8][0] == Verdict.INVALID and "NUL byte" in v[8][1]
    assert v[9][0] == Verdict.INVALID
    assert "City is longer than 30" in v[9][1] and "12 is not a phone" in v[9][1] and "not an email" in v[9][1]
    assert v[10][0] == Verdict.DUPLICATE and "contact phone" in v[10][1] and "13911112222" not in v[10][1]
    assert v[11] == (Verdict.NEW, "")
    assert (batch.new_count, batch.duplicate_count, batch.in_file_count, batch.invalid_count) == (2, 3, 1, 4)


@pytest.mark.parametrize("kind", ["utf-8", "utf-8-sig", "gbk", "xlsx"])
def test_the_same_list_in_every_encoding_gives_the_same_verdicts(owner, existing, media, kind):
    rows = [[c.replace("\x00", "") for c in r] for r in bad_rows(existing)]
    rows[6][0] = "杭州天成科技有限公司"
    if kind == "xlsx":
        data, name = xlsx_bytes(rows), "list.xlsx"
    else:
        data, name = csv_bytes(rows, encoding=kind), "list.csv"
    batch = _check(_upload(owner, data, name), owner)
    v = _verdicts(batch)
    assert [v[n][0] for n in range(2, 12)] == [
        Verdict.NEW,
        Verdict.INVALID,
        Verdict.INVALID,
        Verdict.IN_FILE,
        Verdict.DUPLICATE,
        Verdict.DUPLICATE,
        Verdict.NEW,
        Verdict.INVALID,
        Verdict.DUPLICATE,
        Verdict.NEW,
    ]
    assert ImportRow.objects.get(batch=batch, number=11).data["address"] == "朝阳区望京街道"


def test_xlsx_numbers_are_read_as_text(owner, media):
    data = xlsx_bytes([["青岛海联物流有限公司", None, "物流", "青岛市", "孙八", 13812345678, None, None]])
    batch = _check(_upload(owner, data, "list.xlsx"), owner)
    row = ImportRow.objects.get(batch=batch)
    assert row.verdict == Verdict.NEW and row.data["phone"] == "13812345678"


def test_import_puts_new_rows_into_the_pool_with_history(
    owner, existing, media, department, django_capture_on_commit_callbacks
):
    batch = _check(_upload(owner, csv_bytes(bad_rows(existing)), source="association"), owner)
    with django_capture_on_commit_callbacks(execute=True):
        batch = services.import_start(batch=batch, user=owner)
    assert batch.status == ImportStatus.DONE and batch.imported_count == 2
    customer = Customer.objects.get(name="深圳市华强电子有限公司")
    assert customer.owner_id is None and customer.department == department
    assert customer.release_reason == ReleaseReason.IMPORTED and customer.released_at is not None
    assert customer.source == "association" and customer.industry == "electronics" and customer.city == "深圳市"
    contact = customer.contacts.get()
    assert (contact.name, contact.phone, contact.phone_digits, contact.email) == (
        "王伟",
        "13800138000",
        "13800138000",
        "wang@example.com",
    )
    event = OwnershipEvent.objects.get(customer=customer)
    assert (event.action, event.reason, event.actor) == (Action.REGISTERED, ReleaseReason.IMPORTED, owner)
    no_contact = Customer.objects.get(name="北京中联建设有限公司")
    assert not no_contact.contacts.exists() and no_contact.industry == "construction"
    assert ImportRow.objects.get(batch=batch, number=2).customer == customer
    assert not (media / "imports" / batch.stored_path).exists(), "the uploaded file is deleted once imported"


def test_the_same_file_twice_adds_nothing(owner, existing, media):
    data = csv_bytes(bad_rows(existing))
    first = services.import_start(batch=_check(_upload(owner, data), owner), user=owner)
    assert first.imported_count == 2
    before = _state()
    second = _check(_upload(owner, data), owner)
    assert previous_import(second) == first
    assert (second.new_count, second.duplicate_count, second.in_file_count) == (0, 6, 0)
    with pytest.raises(DomainError, match="Nothing to import"):
        services.import_start(batch=second, user=owner)
    assert _state() == before


def test_all_or_nothing_when_the_write_fails(owner, existing, media, monkeypatch):
    from collection import services as col_services
    from ownership import services as own_services

    def fail_after_writing(**kwargs):
        own_services.customers_import_into_pool(**kwargs)
        raise DomainError("disk full")

    batch = _check(_upload(owner, csv_bytes(bad_rows(existing))), owner)
    before = _state()
    monkeypatch.setattr(col_services, "customers_import_into_pool", fail_after_writing)
    batch = services.import_start(batch=batch, user=owner)
    assert _state() == before, "nothing half-saved"
    assert batch.status == ImportStatus.CHECKED and batch.error == "disk full"
    assert not ImportRow.objects.filter(batch=batch, customer__isnull=False).exists()


def test_a_customer_registered_between_check_and_import_is_not_imported_twice(owner, teammate, existing, media):
    from ownership.services import customer_register

    batch = _check(_upload(owner, csv_bytes(bad_rows(existing))), owner)
    customer_register(
        data={"name": "北京中联建设有限公司", "source": "other", "industry": "construction"},
        contacts=[{"name": "甲", "phone": "13700001111"}],
        user=teammate,
    )
    batch = services.import_start(batch=batch, user=owner)
    assert batch.imported_count == 1 and Customer.objects.filter(name="北京中联建设有限公司").count() == 1
    row = ImportRow.objects.get(batch=batch, number=11)
    assert row.verdict == Verdict.DUPLICATE and "registered since the check" in row.reason


def test_running_the_import_twice_adds_nothing_the_second_time(owner, existing, media):
    batch = _check(_upload(owner, csv_bytes(bad_rows(existing))), owner)
    services.import_start(batch=batch, user=owner)
    before = _state()
    again = services.import_run(batch_id=batch.pk)
    assert again.status == ImportStatus.DONE and _state() == before
    assert services.import_check_run(batch_id=batch.pk).status == ImportStatus.DONE
    with pytest.raises(DomainError):
        services.import_start(batch=batch, user=owner)


def test_who_may_import(owner, teammate, outsider, manager, finance, admin_user, existing, media):
    with pytest.raises(PermissionDenied):
        _upload(finance, csv_bytes(bad_rows(existing)))
    with pytest.raises(PermissionDenied):
        _upload(admin_user, csv_bytes(bad_rows(existing)))  # no department: no pool to import into
    batch = _upload(owner, csv_bytes(bad_rows(existing)))
    for stranger in (teammate, outsider):
        with pytest.raises(PermissionDenied):
            _check(batch, stranger)
    batch = _check(batch, manager)  # the department's manager may run its salespeople's imports
    with pytest.raises(PermissionDenied):
        services.import_start(batch=batch, user=teammate)
    batch = services.import_start(batch=batch, user=manager)
    assert batch.imported_by == manager
    assert OwnershipEvent.objects.filter(reason=ReleaseReason.IMPORTED, actor=manager).count() == 2


def test_mapping_errors_are_refused(owner, media):
    batch = _upload(owner, csv_bytes([["甲公司"] + [""] * 7]))
    with pytest.raises(DomainError, match="company name"):
        services.import_check(batch=batch, user=owner, mapping={"phone": "5"})
    with pytest.raises(DomainError, match="same column"):
        services.import_check(batch=batch, user=owner, mapping={"name": "0", "city": "0"})
    with pytest.raises(DomainError, match="columns"):
        services.import_check(batch=batch, user=owner, mapping={"name": "99"})


def test_rejected_rows_report_says_why_and_escapes_formulas(owner, existing, media, client_for):
    rows = bad_rows(existing)
    rows.append(['=HYPERLINK("http://evil")', "", "", "", "", "", "", ""])
    rows.append(['=HYPERLINK("http://evil")', "", "", "", "", "", "", ""])  # in-file duplicate of the previous
    batch = _check(_upload(owner, csv_bytes(rows)), owner)
    client = client_for(owner)
    response = client.get(reverse("collection:import_rejected", args=[batch.pk, "csv"]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:3] == ["Row", "Verdict", "Reason"] and lines[0][3:] == HEADER
    by_row = {line[0]: line for line in lines[1:]}
    assert set(by_row) == {"3", "4", "5", "6", "7", "8", "9", "10", "13"}
    assert "company name is empty" in by_row["3"][2]
    assert by_row["13"][3] == '\'=HYPERLINK("http://evil")'
    response = client.get(reverse("collection:import_rejected", args=[batch.pk, "xlsx"]), HTTP_ACCEPT_LANGUAGE="en")
    ws = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][:3] == ["Row", "Verdict", "Reason"] and len(values) == 10
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    evil = next(row for row in ws.iter_rows() if row[0].value in (13, "13"))[3]
    assert evil.value == '=HYPERLINK("http://evil")' and evil.data_type == "s" and evil.quotePrefix


# --- Large files -------------------------------------------------------------------------------------


def test_ten_thousand_rows_go_through_celery_to_the_database(
    owner, media, department, django_capture_on_commit_callbacks
):
    rows = generated_rows(10_000)
    rows[500] = list(rows[10])  # one duplicate inside the file
    batch = _upload(owner, csv_bytes(rows, encoding="gbk"))
    with django_capture_on_commit_callbacks(execute=True):
        batch = _check(batch, owner)
    batch.refresh_from_db()
    assert batch.as_task and batch.status == ImportStatus.CHECKED
    assert (batch.total_rows, batch.new_count, batch.in_file_count) == (10_000, 9_999, 1)
    with django_capture_on_commit_callbacks(execute=True):
        services.import_start(batch=batch, user=owner)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE and batch.imported_count == 9_999
    assert Customer.objects.filter(department=department, release_reason=ReleaseReason.IMPORTED).count() == 9_999
    assert Contact.objects.filter(customer__release_reason=ReleaseReason.IMPORTED).count() == 9_999
    assert OwnershipEvent.objects.filter(reason=ReleaseReason.IMPORTED).count() == 9_999


def test_hundred_thousand_rows_are_checked_as_a_task(owner, media, django_capture_on_commit_callbacks):
    rows = generated_rows(100_000)
    rows[99_999][0] = ""  # one invalid row at the very end
    with django_capture_on_commit_callbacks(execute=True):
        batch = _check(_upload(owner, csv_bytes(rows), "big.csv"), owner)
    batch.refresh_from_db()
    assert batch.as_task and batch.status == ImportStatus.CHECKED
    assert (batch.total_rows, batch.new_count, batch.invalid_count) == (100_000, 99_999, 1)
    assert Customer.objects.count() == 0


def test_too_many_rows_fail_with_a_message(owner, media, monkeypatch):
    monkeypatch.setattr(parsing, "MAX_ROWS", 5)
    batch = _check(_upload(owner, csv_bytes(generated_rows(6))), owner)
    assert batch.status == ImportStatus.FAILED and "more than 5 rows" in batch.error
    assert not ImportRow.objects.filter(batch=batch).exists()


def test_imports_resume_finishes_what_a_dead_worker_left(owner, media, department, django_capture_on_commit_callbacks):
    """The task's management command: a batch left "importing" (the worker died after the status
    was set) is imported by `imports_resume`; running it again adds nothing."""
    from django.core.management import call_command

    batch = _check(_upload(owner, csv_bytes(generated_rows(3))), owner)
    with django_capture_on_commit_callbacks(execute=False):  # the queued task never runs
        ImportBatch.objects.filter(pk=batch.pk).update(as_task=True)
        services.import_start(batch=batch, user=owner)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.IMPORTING and Customer.objects.count() == 0

    out = io.StringIO()
    call_command("imports_resume", stdout=out)
    batch.refresh_from_db()
    assert batch.status == ImportStatus.DONE and Customer.objects.count() == 3
    assert f"import {batch.pk}: importing -> done" in out.getvalue()

    call_command("imports_resume", stdout=io.StringIO())
    assert Customer.objects.count() == 3


def test_imports_resume_refuses_a_finished_batch(owner, media):
    from django.core.management import CommandError, call_command

    batch = _check(_upload(owner, csv_bytes(generated_rows(2))), owner)
    with pytest.raises(CommandError, match="not checking or importing"):
        call_command("imports_resume", str(batch.pk), stdout=io.StringIO())


# --- Review findings: zip bombs, unknown sizes, unexpected errors, long names, visibility ---------


def test_a_workbook_that_unpacks_huge_is_refused_before_unpacking(owner, media):
    """A 20 MB cell compresses to a few kilobytes: refused from the zip's directory, nothing kept."""
    import zipfile

    small = zipfile.ZipFile(io.BytesIO(xlsx_bytes([["x"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in small.infolist():
            content = small.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":  # openpyxl itself caps a cell at 32,767
                content = (
                    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                    b'<row r="1"><c r="A1" t="inlineStr"><is><t>' + b"A" * 20_000_000 + b"</t></is></c></row>"
                    b"</sheetData></worksheet>"
                )
            bomb.writestr(info.filename, content)
    data = out.getvalue()
    assert len(data) < 1_000_000
    with pytest.raises(DomainError, match="abnormally compressed"):
        _upload(owner, data, "bomb.xlsx")
    assert not ImportBatch.objects.exists()
    assert not any(media.rglob("*.xlsx"))


def test_a_workbook_without_dimension_is_estimated_from_its_size(owner, media, monkeypatch):
    """openpyxl's write-only files (our own exports too) carry no <dimension>: the row estimate
    comes from the sheet's size, so a large file still goes to Celery."""
    data = xlsx_bytes(generated_rows(300))
    table = parsing.read_table("list.xlsx", data)
    assert table.estimated_rows >= 300
    monkeypatch.setattr(services, "LARGE_ROWS", 200)
    batch = _check(_upload(owner, data, "list.xlsx"), owner)
    assert batch.as_task


def test_cr_only_csv_is_estimated_too():
    rows = generated_rows(50)
    data = csv_bytes(rows).replace(b"\r\n", b"\r")
    assert parsing.read_table("list.csv", data).estimated_rows >= 50


def test_a_name_that_grows_when_folded_still_imports(owner, media):
    """NFKC turns ㍿ into 株式会社: 51 of them fold to 204 characters, over name_key's 200."""
    name = "㍿" * 51
    batch = _check(_upload(owner, csv_bytes([[name, "", "", "", "", "13700001111", "", ""]])), owner)
    assert batch.new_count == 1
    services.import_start(batch=batch, user=owner)
    customer = Customer.objects.get(name=name)
    assert len(customer.name_key) == 200


def test_an_unexpected_error_leaves_the_batch_usable(owner, media, monkeypatch):
    batch = _check(_upload(owner, csv_bytes(generated_rows(2))), owner)
    before = _state()

    def boom(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "customers_import_into_pool", boom)
    batch = services.import_start(batch=batch, user=owner)
    assert batch.status == ImportStatus.CHECKED and "unexpected error" in batch.error
    assert _state() == before
    monkeypatch.undo()
    services.import_cancel(batch=batch, user=owner)  # not stuck: it can be cancelled (or run again)

    batch = _upload(owner, csv_bytes(generated_rows(2, start=10)))
    monkeypatch.setattr(parsing, "clean_row", lambda *a, **k: 1 / 0)
    batch = _check(batch, owner)
    assert batch.status == ImportStatus.FAILED and "unexpected error" in batch.error
    assert not ImportRow.objects.filter(batch=batch).exists()


def test_a_second_phone_counts_the_same_inside_the_file_and_across_files(owner, media):
    """Only a row's first phone becomes its contact: a later row sharing the second phone is new,
    in the same file as in a later one."""
    both = ["甲公司", "", "", "", "", "13800138000, 13900139000", "", ""]
    second = ["乙公司", "", "", "", "", "13900139000", "", ""]
    one_file = _check(_upload(owner, csv_bytes([both, second]), "one.csv"), owner)
    assert one_file.new_count == 2
    services.import_cancel(batch=one_file, user=owner)
    services.import_start(batch=_check(_upload(owner, csv_bytes([both]), "a.csv"), owner), user=owner)
    later = _check(_upload(owner, csv_bytes([second]), "b.csv"), owner)
    assert later.new_count == 1
