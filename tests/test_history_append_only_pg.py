"""History that the database itself keeps append-only (PostgreSQL triggers), whatever client or
console writes: service timelines and the fixed parts of a request (R6.1, R6.5), the document
download log (R6.4), information reports' history (R1.3)."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from collection import services as collection_services
from crm.dates import local_today
from customers.services import DocumentInput, document_record_download, document_upload
from service import services as service_services

from .helpers import owned_customer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def history(owner, manager, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    customer = owned_customer(owner, since=local_today())
    service_services.request_log(
        user=owner,
        data=service_services.RequestInput(kind="complaint", channel="phone", text="货物破损"),
        customer=customer,
    )
    document = document_upload(
        customer=customer,
        user=owner,
        data=DocumentInput(kind="business_licence", number="91330200MA2AXXXX1X"),
        file_name="营业执照.pdf",
        chunks=[b"%PDF-1.4\n%%EOF\n"],
    )
    document_record_download(document=document, user=manager, ip="10.0.0.2")
    report = collection_services.report_create(
        user=owner, data={"title": "食品行业", "category": "食品", "summary": "汇总", "needs_direction": "包装"}
    )
    collection_services.report_publish(report=report, user=manager)


def run(sql: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE service_requestevent SET text = 'x'", "append-only"),
        ("DELETE FROM service_requestevent", "append-only"),
        ("UPDATE service_servicerequest SET text = '改过的原文'", "fixed"),
        ("UPDATE service_servicerequest SET responsible_id = NULL", "fixed|null value"),
        ("UPDATE service_servicerequest SET kind = 'call'", "fixed"),
        ("UPDATE customers_documentdownload SET ip = '10.0.0.1'", "append-only"),
        ("DELETE FROM customers_documentdownload", "append-only"),
        ("UPDATE collection_inforeportevent SET note = 'x'", "append-only"),
    ],
)
def test_history_cannot_be_rewritten(history, sql, message):
    with pytest.raises(DatabaseError, match=message):
        run(sql)


def test_what_may_change_still_changes(history):
    """The status, outcome and due day of a request are written by the services."""
    run("UPDATE service_servicerequest SET due_on = due_on + 1, overdue_notified_for = NULL")
