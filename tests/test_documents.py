"""R4.1 qualification documents and R6.4 downloads: content checked by magic bytes, size limit,
one file per request, random stored names, attachment downloads only for who sees the file, every
download logged, and expiry flagged to the owner once."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from crm.dates import local_today
from customers.models import Basis, Customer, CustomerDocument, DocumentDownload
from customers.services import document_path
from notifications.models import Notification

from .helpers import owned_customer, pool_customer

# Messages are asserted in English; tests/test_translations.py checks that they are translated.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def mine(owner):
    return owned_customer(owner, since=local_today() - timedelta(days=10), name="宁波德润精密机械有限公司")


def upload(client, customer, content=PDF, name="营业执照.pdf", **extra):
    data = {"kind": "business_licence", "number": "91330200MA2AXXXX1X", "valid_until": "", "valid_from": ""}
    data.update(extra)
    if content is not None:
        data.setdefault("file", SimpleUploadedFile(name, content, content_type="application/pdf"))
    return client.post(reverse("customers:document_upload", args=[customer.pk]), data)


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def assert_nothing_stored(root):
    assert CustomerDocument.objects.count() == 0
    assert stored_files(root) == []


@pytest.mark.parametrize(("content", "name"), [(PDF, "营业执照.pdf"), (PNG, "licence.png"), (JPEG, "scan.JPG")])
def test_owner_uploads_pdf_png_jpeg(client_for, owner, mine, private_root, content, name):
    response = upload(client_for(owner), mine, content, name)
    assert response.status_code == 302
    doc = CustomerDocument.objects.get()
    assert doc.size == len(content) and len(doc.sha256) == 64
    path = document_path(doc)
    assert path.read_bytes() == content
    assert private_root in path.parents
    assert name.rsplit(".", 1)[0] not in doc.stored_name  # random, never the uploader's name


def test_type_comes_from_content_not_name(client_for, owner, mine):
    upload(client_for(owner), mine, PNG, "looks-like.pdf")
    doc = CustomerDocument.objects.get()
    assert doc.content_type == "image/png"
    assert doc.original_name == "looks-like.png" and doc.stored_name.endswith(".png")


HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (HTML, "Only PDF, JPEG and PNG files are accepted"),
        (SVG, "Only PDF, JPEG and PNG files are accepted"),
        (b"  %PDF-1.4 leading spaces", "Only PDF, JPEG and PNG files are accepted"),
        (b"", "The file is empty"),
    ],
    ids=["html-renamed-pdf", "svg-renamed-pdf", "not-at-start", "empty"],
)
def test_bad_content_is_refused_and_nothing_stored(client_for, owner, mine, private_root, content, message):
    response = upload(client_for(owner), mine, content, "营业执照.pdf")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert_nothing_stored(private_root)


def test_over_the_size_limit_is_refused(client_for, owner, mine, private_root, settings):
    settings.DOCUMENT_MAX_BYTES = 1024
    response = upload(client_for(owner), mine, PDF + b"0" * 1024)
    assert response.status_code == 200
    assert "larger than" in response.content.decode()
    assert_nothing_stored(private_root)
    assert upload(client_for(owner), mine, PDF).status_code == 302  # under the limit: fine


def test_default_limit_is_ten_megabytes(settings):
    from django.conf import settings as conf

    assert conf.DOCUMENT_MAX_BYTES == 10 * 1024 * 1024


def test_path_traversal_name_is_harmless(client_for, owner, mine, private_root, tmp_path):
    response = upload(client_for(owner), mine, PDF, "../../etc/passwd.pdf")
    assert response.status_code == 302
    doc = CustomerDocument.objects.get()
    assert doc.original_name == "passwd.pdf"
    assert "/" not in doc.stored_name and ".." not in doc.stored_name
    files = stored_files(private_root)
    assert files == [document_path(doc)]
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize(
    "name", ["..\\..\\windows\\system.ini.pdf", "<script>x</script>.pdf", "a\x00b.pdf", "   ", "....pdf"]
)
def test_odd_names_are_sanitised(client_for, owner, mine, name):
    assert upload(client_for(owner), mine, PDF, name).status_code == 302
    shown = CustomerDocument.objects.get().original_name
    assert shown.endswith(".pdf")
    assert not any(c in shown for c in '/\\<>\x00"')


def test_many_files_in_one_request_are_refused(client_for, owner, mine, private_root):
    files = [SimpleUploadedFile(f"{i}.pdf", PDF, content_type="application/pdf") for i in range(3)]
    response = upload(client_for(owner), mine, None, file=files)
    assert response.status_code == 200
    assert "Upload one file at a time" in response.content.decode()
    assert_nothing_stored(private_root)
    # Two file fields under different names: refused as well.
    response = upload(
        client_for(owner), mine, PDF, other=SimpleUploadedFile("x.pdf", PDF, content_type="application/pdf")
    )
    assert "Upload one file at a time" in response.content.decode()
    assert_nothing_stored(private_root)


def test_more_files_than_django_parses_is_refused(client_for, owner, mine, private_root, settings):
    files = [SimpleUploadedFile(f"{i}.pdf", PDF) for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]
    # The test client skips the CSRF check, so the view itself meets the refused parse: a message.
    response = upload(client_for(owner), mine, None, file=files)
    assert response.status_code == 200
    assert "Upload one file at a time" in response.content.decode()
    assert_nothing_stored(private_root)


def test_more_files_than_django_parses_with_csrf_is_a_clear_400(owner, mine, private_root, settings):
    """In production the CSRF check reads the form first and Django refuses the parse (400): the
    page says why, translated, and nothing is stored."""
    from django.test import Client

    settings.DEBUG = False
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(owner)
    url = reverse("customers:document_upload", args=[mine.pk])
    assert client.get(url).status_code == 200  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    files = [SimpleUploadedFile(f"{i}.pdf", PDF) for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]
    response = client.post(url, {"csrfmiddlewaretoken": token, "file": files})
    assert response.status_code == 400
    assert "too many files" in response.content.decode()
    assert_nothing_stored(private_root)


def test_no_file_and_bad_details(client_for, owner, mine, private_root):
    response = upload(client_for(owner), mine, None)
    assert "Choose the file to upload" in response.content.decode()
    response = upload(client_for(owner), mine, PDF, number="")
    assert "Give the number" in response.content.decode()
    response = upload(client_for(owner), mine, PDF, valid_from="2026-05-01", valid_until="2026-01-01")
    assert "cannot expire before" in response.content.decode()
    response = upload(client_for(owner), mine, PDF, valid_until="99999-01-01")
    assert response.status_code == 200
    assert_nothing_stored(private_root)


def test_who_uploads(client_for, owner, teammate, outsider, manager, finance, admin_user, mine):
    statuses = {u.username: upload(client_for(u), mine).status_code for u in (teammate, outsider, finance)}
    assert statuses == {"lina": 404, "wangfang": 404, "chenjing": 404}  # R6.4: finance sees sales and credit only
    assert CustomerDocument.objects.count() == 0
    for user in (owner, manager, admin_user):
        assert upload(client_for(user), mine).status_code == 302
    assert CustomerDocument.objects.count() == 3


@pytest.fixture
def document(client_for, owner, mine):
    upload(client_for(owner), mine, PDF, "营业执照 2026.pdf")
    return CustomerDocument.objects.get()


@pytest.mark.parametrize("who", ["owner", "manager", "admin_user"])
def test_download_as_attachment_and_logged(request, client_for, mine, document, who):
    user = request.getfixturevalue(who)
    response = client_for(user).get(reverse("customers:document_download", args=[mine.pk, document.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''" in disposition.lower() and "%E8%90%A5" in disposition  # RFC 5987, 营
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    log = DocumentDownload.objects.get()
    assert (log.user, log.document, log.ip) == (user, document, "127.0.0.1")


@pytest.mark.parametrize("who", ["teammate", "outsider"])
def test_download_by_other_salespeople_is_404_and_not_logged(request, client_for, mine, document, who):
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("customers:document_download", args=[mine.pk, document.pk])).status_code == 404
    assert DocumentDownload.objects.count() == 0


def test_pool_customer_documents_are_not_for_salespeople(client_for, owner, teammate, manager, department):
    pooled = pool_customer(department)
    upload(client_for(manager), pooled)
    doc = CustomerDocument.objects.get()
    for user in (owner, teammate):
        page = client_for(user).get(reverse("customers:detail", args=[pooled.pk]))
        assert page.status_code == 200 and doc.original_name not in page.content.decode()
        url = reverse("customers:document_download", args=[pooled.pk, doc.pk])
        assert client_for(user).get(url).status_code == 404


def test_document_of_another_customer_is_404(client_for, owner, mine, document):
    other = owned_customer(owner, since=local_today(), name="另一家有限公司")
    url = reverse("customers:document_download", args=[other.pk, document.pk])
    assert client_for(owner).get(url).status_code == 404


def test_missing_file_on_disk_is_404_not_500(client_for, owner, mine, document):
    document_path(document).unlink()
    url = reverse("customers:document_download", args=[mine.pk, document.pk])
    assert client_for(owner).get(url).status_code == 404


def test_no_url_serves_private_media(client_for, owner, document, private_root):
    relative = document_path(document).relative_to(private_root)
    for prefix in ("/media/", "/static/", "/private_media/", "/"):
        assert client_for(owner).get(prefix + str(relative)).status_code == 404


def test_archive_keeps_file_and_log(client_for, owner, teammate, mine, document):
    client = client_for(owner)
    client.get(reverse("customers:document_download", args=[mine.pk, document.pk]))
    url = reverse("customers:document_archive", args=[mine.pk, document.pk])
    assert client_for(teammate).post(url).status_code == 404
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    document.refresh_from_db()
    assert document.archived_at is not None and document_path(document).exists()
    assert DocumentDownload.objects.filter(document=document).count() == 1
    assert client.post(url).status_code == 302  # "already archived": a message, no change


def test_detail_lists_documents_and_flags_expiry(client_for, owner, manager, mine):
    soon = local_today() + timedelta(days=20)
    upload(client_for(owner), mine, PDF, valid_until=soon.isoformat())
    page = client_for(owner).get(reverse("customers:detail", args=[mine.pk])).content.decode()
    assert "营业执照.pdf" in page and "Documents expiring" in page
    mine_page = client_for(owner).get(reverse("customers:mine")).content.decode()
    assert "Documents expiring" in mine_page


def test_long_term_and_far_documents_are_not_flagged(client_for, owner, mine):
    upload(client_for(owner), mine, PDF)  # long-term
    upload(client_for(owner), mine, PDF, valid_until=(local_today() + timedelta(days=31)).isoformat())
    assert "Documents expiring" not in client_for(owner).get(reverse("customers:mine")).content.decode()


def test_expiry_job_notifies_the_owner_once_per_document(client_for, owner, mine):
    today = local_today()
    upload(client_for(owner), mine, PDF, valid_until=(today + timedelta(days=30)).isoformat())
    upload(client_for(owner), mine, PDF, valid_until=(today + timedelta(days=31)).isoformat())
    upload(client_for(owner), mine, PDF, valid_until=(today - timedelta(days=1)).isoformat())
    call_command("notify_expiring_documents")
    assert Notification.objects.filter(recipient=owner, kind="document_expiring").count() == 2
    call_command("notify_expiring_documents")  # idempotent
    assert Notification.objects.filter(recipient=owner, kind="document_expiring").count() == 2
    call_command("notify_expiring_documents", as_of=(today + timedelta(days=1)).isoformat())
    assert Notification.objects.filter(recipient=owner, kind="document_expiring").count() == 3


def test_expiry_task_runs(owner, mine, client_for):
    from customers.tasks import notify_expiring_documents

    upload(client_for(owner), mine, PDF, valid_until=local_today().isoformat())
    assert notify_expiring_documents.delay().get() == 1
    assert notify_expiring_documents.delay().get() == 0


def test_expiry_is_told_again_to_a_new_owner_not_to_an_inactive_one(client_for, owner, teammate, mine):
    """R4.1: the notice follows the customer: a new owner learns of the expiring licence; a
    deactivated owner gets nothing."""

    upload(client_for(owner), mine, PDF, valid_until=(local_today() + timedelta(days=5)).isoformat())
    call_command("notify_expiring_documents")
    Customer.objects.filter(pk=mine.pk).update(owner=teammate, owner_basis=Basis.ASSIGNED)
    call_command("notify_expiring_documents")
    call_command("notify_expiring_documents")
    assert Notification.objects.filter(recipient=owner, kind="document_expiring").count() == 1
    assert Notification.objects.filter(recipient=teammate, kind="document_expiring").count() == 1
    teammate.is_active = False
    teammate.save(update_fields=["is_active"])
    Customer.objects.filter(pk=mine.pk).update(owner=teammate)
    CustomerDocument.objects.update(notified_for=None)
    call_command("notify_expiring_documents")
    assert Notification.objects.filter(kind="document_expiring").count() == 2


def test_expiry_text_counts_days_in_english_plural(client_for, owner, mine):
    upload(client_for(owner), mine, PDF, valid_until=(local_today() + timedelta(days=1)).isoformat())
    upload(client_for(owner), mine, PDF, valid_until=local_today().isoformat())
    call_command("notify_expiring_documents")
    texts = sorted(Notification.objects.filter(recipient=owner).values_list("text", flat=True))
    assert any("(in 1 day)" in t for t in texts) and any("expires today" in t for t in texts)


def test_display_name_drops_bidi_and_zero_width_characters():
    from customers.uploads import sanitize_filename

    assert sanitize_filename("licence\u202eexe.pdf", extension=".pdf") == "licenceexe.pdf"
    assert sanitize_filename("营业\u200b执照\u0085.pdf", extension=".pdf") == "营业执照.pdf"
