"""R6.4 confidentiality, by crawling: marker strings placed in salesperson A's confidential data
(contact phone, email and WeChat, customer notes, credit note, document number and file name,
order description, visit text, daily report, service request text, release note) never appear in
any page salesperson B of the same department, or a salesperson of another department, can open.

Every GET URL pattern of the project is resolved and requested: ids are filled with every existing
object id, string parameters with the values the views understand, and list pages with the query
strings their filters take. Excel and other zipped answers are unpacked before searching."""

import io
import zipfile
from datetime import timedelta
from itertools import product

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter
from django.utils import timezone

from collection import services as collection_services
from crm.dates import local_today
from customers.services import DocumentInput, customer_set_credit_status, document_upload
from followups import services as followups_services
from ownership.services import release_note_write
from service import services as service_services

from .collection_helpers import csv_bytes
from .factories import ContactFactory
from .helpers import owned_customer, pool_customer
from .sales_helpers import confirm, record

pytestmark = pytest.mark.django_db

MARKERS = {
    "phone": "13987654321",
    "email": "zzmarker.mail@secret-example.cn",
    "wechat": "ZZMARKER_WECHAT",
    "notes": "ZZMARKER_CUSTOMER_NOTES",
    "credit": "ZZMARKER_CREDIT_NOTE",
    "doc_number": "ZZMARKERDOCNO777",
    "doc_name": "ZZMARKER_FILE_NAME",
    "order": "ZZMARKER_ORDER_DESCRIPTION",
    "visit": "ZZMARKER_VISIT_TEXT",
    "visit_problem": "ZZMARKER_VISIT_PROBLEM",
    "report": "ZZMARKER_REPORT_SUMMARY",
    "service": "ZZMARKER_SERVICE_TEXT",
    "release_note": "ZZMARKER_RELEASE_NOTE",
    "info_report": "ZZMARKER_DRAFT_REPORT",
    "import_row": "ZZMARKER导入公司有限公司",
}
SKIP_NAMESPACES = {"admin"}
SKIP_NAMES = {"accounts:logout", "set_language"}


@pytest.fixture
def secrets(owner, teammate, manager, finance, department, settings, tmp_path):
    """A's (the owner's) confidential data, with some of B's own and a pool customer around."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    today = local_today()
    customer = owned_customer(owner, since=today - timedelta(days=10), notes=MARKERS["notes"])
    ContactFactory(customer=customer, phone=MARKERS["phone"], email=MARKERS["email"], wechat=MARKERS["wechat"])
    customer_set_credit_status(customer=customer, user=owner, status="watch", note=MARKERS["credit"])
    document_upload(
        customer=customer,
        user=owner,
        data=DocumentInput(kind="business_licence", number=MARKERS["doc_number"]),
        file_name=MARKERS["doc_name"] + ".pdf",
        chunks=[b"%PDF-1.4\n%%EOF\n"],
    )
    order = record(customer, owner, "8000.00", day=today, description=MARKERS["order"])
    confirm(order, finance, "3000.00", day=today)
    followups_services.visit_record(
        customer=customer,
        user=owner,
        data=followups_services.VisitInput(
            visited_at=timezone.now() - timedelta(hours=1),
            channel="visit",
            discussed=MARKERS["visit"],
            unsolved_problems=MARKERS["visit_problem"],
        ),
    )
    followups_services.report_submit(
        salesperson=owner, kind="daily", period_start=today, summary=MARKERS["report"], user=owner
    )
    service_services.request_log(
        user=owner,
        data=service_services.RequestInput(kind="complaint", channel="phone", text=MARKERS["service"]),
        customer=customer,
    )
    release_note_write(
        customer=customer,
        user=owner,
        situation=MARKERS["release_note"],
        contact_details="见联系人",
        communication_level="已报价",
    )
    # A's draft information report and A's checked (not imported) customer list: only A and the
    # managers see them.
    collection_services.report_create(
        user=owner, data={"title": "草稿", "category": "食品", "summary": MARKERS["info_report"]}
    )
    batch = collection_services.import_upload(
        user=owner,
        file_name="名单.csv",
        data=csv_bytes([[MARKERS["import_row"]]], header=["公司名称"]),
        source="media",
    )
    collection_services.import_check(batch=batch, user=owner, mapping=batch.mapping)
    # B's own customer and a pool customer: pages B opens have something on them.
    mine_b = owned_customer(teammate, since=today - timedelta(days=3), name="厦门蓝海食品有限公司")
    ContactFactory(customer=mine_b)
    pooled = pool_customer(department, name="苏州嘉禾食品有限公司")
    service_services.request_log(
        user=teammate,
        data=service_services.RequestInput(kind="call", channel="phone", text="B 的来电"),
        customer=mine_b,
    )
    return {"customer": customer, "pooled": pooled}


def get_patterns():
    """(name, route parts, converters) of every named pattern."""
    found = []

    def walk(patterns, prefix: list, namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = p.namespace or namespace
                if ns in SKIP_NAMESPACES:
                    continue
                walk(p.url_patterns, [*prefix, p.pattern], ns)
            elif isinstance(p, URLPattern) and p.name:
                name = f"{namespace}:{p.name}" if namespace else p.name
                if name not in SKIP_NAMES:
                    found.append((name, [*prefix, p.pattern]))

    walk(get_resolver().url_patterns, [], None)
    return found


def str_values() -> list[str]:
    today = local_today()
    return ["daily", "weekly", "csv", "xlsx", today.isoformat(), (today + timedelta(days=1)).isoformat()]


def query_strings() -> list[str]:
    today = local_today()
    return [
        "",
        "?status=all",
        "?status=closed",
        "?status=overdue",
        "?size=100",
        "?q=ZZMARKER",
        f"?q={MARKERS['phone'][:7]}",  # a phone prefix: the page echoes the query itself
        f"?month={today:%Y-%m}",
        f"?day={today.isoformat()}",
        "?by=salesperson",
        "?scope=all",
        "?include_released=1",
    ]


def concrete_urls(ids: list[int], pairs: set[tuple[int, int]] | None = None) -> list[str]:
    """Every pattern with every combination of the existing ids and the string values; a pattern
    with two ids (a customer's contact, a report's task) gets the existing (parent, child) pairs,
    not every id twice: on PostgreSQL the ids of different tables do not overlap, and the square of
    a few hundred ids is too many requests."""
    from django.urls import reverse

    urls: set[str] = set()
    for name, _parts in get_patterns():
        try:
            resolver_pattern = next(p for n, p in get_patterns() if n == name)
        except StopIteration:  # pragma: no cover
            continue
        converters: dict = {}
        for part in resolver_pattern:
            converters.update(getattr(part, "converters", {}))
        choices = []
        int_keys = [key for key, conv in converters.items() if isinstance(conv, IntConverter)]
        if len(int_keys) == 2 and pairs is not None:
            choices.append([((int_keys[0], a), (int_keys[1], b)) for a, b in sorted(pairs)])
        for key, conv in converters.items():
            if isinstance(conv, IntConverter):
                if len(int_keys) != 2 or pairs is None:
                    choices.append([((key, i),) for i in ids])
            else:
                choices.append([((key, v),) for v in str_values()])
        for combo in product(*choices) if choices else [()]:
            try:
                url = reverse(name, kwargs=dict(kv for part in combo for kv in part))
            except Exception:  # a value the converter refuses
                continue
            if choices:
                urls.add(url)
            else:
                urls.update(url + q for q in query_strings())
    return sorted(urls)


def body_text(response) -> str:
    raw = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    if raw[:2] == b"PK":  # xlsx and other zipped answers
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                raw = b"".join(archive.read(n) for n in archive.namelist())
        except zipfile.BadZipFile:
            pass
    return raw.decode("utf-8", errors="replace")


def existing_ids() -> list[int]:
    """Every primary key of every table of the project's apps (sequences are not reset between
    tests on PostgreSQL, so the ids are collected, not counted from 1)."""
    from django.apps import apps

    found: set[int] = set()
    for model in apps.get_models():
        if model._meta.app_label in {"admin", "contenttypes", "sessions", "auth", "axes"}:
            continue
        found.update(pk for pk in model.objects.values_list("pk", flat=True) if isinstance(pk, int))
    return sorted(found)


def existing_pairs() -> set[tuple[int, int]]:
    """(parent id, child id) of every row that points at a customer or an information report."""
    from django.apps import apps

    from collection.models import InfoReport
    from customers.models import Customer

    found: set[tuple[int, int]] = set()
    for model in apps.get_models():
        for f in model._meta.get_fields():
            if getattr(f, "many_to_one", False) and f.concrete and f.related_model in (Customer, InfoReport):
                found.update(
                    (parent, pk) for parent, pk in model.objects.values_list(f.attname, "pk") if parent is not None
                )
    return found


@pytest.mark.parametrize("who", ["teammate", "outsider"])
def test_markers_never_reach_another_salesperson(request, client_for, secrets, owner, who):
    # Sanity: the owner does see its own markers, so their absence below means something.
    owner_page = client_for(owner).get(f"/customers/{secrets['customer'].pk}/").content.decode()
    for key in ("phone", "email", "wechat", "notes", "credit", "doc_number", "doc_name"):
        assert MARKERS[key] in owner_page, key

    client = client_for(request.getfixturevalue(who))
    urls = concrete_urls(existing_ids(), existing_pairs())
    assert len(urls) > 100
    leaks = []
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500, f"GET {url}: {response.status_code}"
        text = body_text(response)
        leaks.extend(f"{url}: {key}" for key, marker in MARKERS.items() if marker in text)
    assert not leaks, "confidential data of another salesperson shown:\n" + "\n".join(leaks)


def test_finance_sees_sales_and_credit_not_the_file(client_for, secrets, finance):
    """R6.4 "finance (sales and credit)": the customer page shows finance the credit history and the
    orders, not the contacts, notes or documents; a document download is 404."""
    from customers.models import CustomerDocument

    customer = secrets["customer"]
    client = client_for(finance)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert MARKERS["credit"] in page
    order = customer.orders.get()
    assert MARKERS["order"] in client.get(f"/sales/orders/{order.pk}/").content.decode()
    for key in ("phone", "email", "wechat", "notes", "doc_number", "doc_name", "visit", "release_note"):
        assert MARKERS[key] not in page, key
    document = CustomerDocument.objects.get(customer=customer)
    assert client.get(f"/customers/{customer.pk}/documents/{document.pk}/").status_code == 404


def report_names() -> list[str]:
    """`/` and every report of the dashboard app (issue 13)."""
    from dashboard.urls import urlpatterns

    return ["home", *(f"dashboard:{p.name}" for p in urlpatterns)]


@pytest.mark.parametrize("who", ["teammate", "outsider"])
def test_reports_never_show_another_salespersons_figures(request, client_for, secrets, owner, who):
    """R6.4 and issue 13: a salesperson asking the reports for the owner's figures by URL gets its
    own page (the workbench ignores the filters) or 403, never the owner's data or amounts."""
    from django.urls import reverse

    client = client_for(request.getfixturevalue(who))
    queries = [
        f"?salesperson={owner.pk}",
        f"?salesperson={owner.pk}&department={owner.department_id}&date_from=2020-01-01",
        f"?department={owner.department_id}&ordering=-due&age=0-30",
    ]
    owner_sale = "8,000.00"  # the owner's order (its confirmed sale and receivable)
    assert owner_sale in client_for(owner).get("/").content.decode()  # the owner does see it
    leaks = []
    for name in report_names():
        for query in queries:
            url = reverse(name) + query
            response = client.get(url)
            assert response.status_code in (200, 403), f"GET {url}: {response.status_code}"
            text = body_text(response)
            leaks.extend(f"{url}: {key}" for key, marker in MARKERS.items() if marker in text)
            if owner_sale in text:
                leaks.append(f"{url}: the owner's sale")
    assert not leaks, "another salesperson's figures shown:\n" + "\n".join(leaks)


def test_finance_reports_show_sales_of_every_department_but_no_contacts(client_for, secrets, finance, outsider):
    """Finance's home, reports and exports name the customers and their amounts (it confirms their
    payments) but hold none of the file: contacts, notes, documents, visits, release notes."""
    from django.urls import reverse

    client = client_for(finance)
    seen_sale = False
    for name in report_names():
        response = client.get(reverse(name))
        if response.status_code == 403:
            assert name in ("dashboard:workbench", "dashboard:team", "dashboard:movements"), name
            continue
        text = body_text(response)
        seen_sale |= secrets["customer"].name in text and ("8,000.00" in text or "8000" in text)
        for key in ("phone", "email", "wechat", "notes", "doc_number", "doc_name", "visit", "release_note", "service"):
            assert MARKERS[key] not in text, f"{name}: {key}"
    assert seen_sale, "finance should see the owner's customer and sale"
