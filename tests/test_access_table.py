"""Who may open or change what (R6.4, R5.5-R5.11, R7.3): one table over every URL of the
project that takes an id (customers, ownership, notifications, sales, followups, service and
collection).

For each URL, each kind of object and each role the table gives the status of a GET and of a
crafted POST (a valid form, so that only the permission check can stop it). A status written
``"302+"`` means the POST changes state; any other POST, and every GET, must leave the database
exactly as it was (owner, deadline, history rows, notes, contacts, notifications ...).

Roles, in the order of the tuples: the owner (salesperson), a teammate (another salesperson of
the same department), an outsider (salesperson of another department), the department's manager,
finance and an admin. Kinds: "own" = owned by `owner`, "another" = owned by `teammate`, "pool" =
a pool customer of the department. For the other targets "own" and "another" are the owner's and
the teammate's item: their notification, missing release note, order (on their own customer),
payment, commission hold, visit, submitted report and service request (logged by them on their
own customer). A document is one of the customer of that kind.

A download is logged (R6.4), so GET of customers:document_download writes a DocumentDownload row:
that table is left out of `state()` and checked in tests/test_documents.py.

A new URL with an ``<int:…>`` parameter in these apps makes test_every_id_url_is_in_the_table
fail until it is added here.

The reports of the dashboard app (issue 13) take their ids in the query string (a department, a
salesperson): REPORT_TABLE gives, per role, the status of each one asked for the teammate's figures,
and test_report_by_role checks that a salesperson's page never shows them.
"""

import random
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter
from django.utils import timezone

from collection import services as collection_services
from collection.models import ImportBatch, ImportRow, InfoReport, InfoReportCustomer, InfoReportEvent, InfoTask
from crm.dates import local_today
from customers.models import Contact, CreditStatusChange, Customer, CustomerDocument, ReleaseReason
from customers.services import DocumentInput, document_upload
from followups import services as followups_services
from followups.models import Report, ReportComment, Visit
from handovers import services as handover_services
from handovers.models import Handover, HandoverEvent, HandoverItem
from notifications.models import Notification
from ownership.models import MissingReleaseNote, OwnershipEvent, ReleaseNote
from sales import services as sales_services
from sales.models import CommissionHold, Order, Payment
from service import services as service_services
from service.models import RequestEvent, RequestHelper, ServiceRequest

from .collection_helpers import csv_bytes
from .factories import ContactFactory, company_name, make_credit_code
from .helpers import at, owned_customer, pool_customer
from .sales_helpers import confirm, record

pytestmark = pytest.mark.django_db

ROLES = ("owner", "teammate", "outsider", "manager", "finance", "admin_user")
APPS = (
    "customers",
    "ownership",
    "notifications",
    "sales",
    "followups",
    "service",
    "collection",
    "handovers",
    "dashboard",
)
PDF = b"%PDF-1.4\n%%EOF\n"


@dataclass(frozen=True)
class Row:
    # what the id names: customer | contact | document | missing_note | notification | order |
    # payment | hold | visit | report | service_request | service_plan (a request with a plan)
    target: str
    get: dict[str, tuple]  # kind -> status per role (405: method not allowed)
    post: dict[str, tuple] = field(default_factory=dict)  # kind -> "status" or "status+" per role


ALL_405 = ("405",) * 6
G405 = (405,) * 6

TABLE: dict[str, Row] = {
    # --- customers -------------------------------------------------------------------------
    "customers:detail": Row(
        "customer",
        get={
            "own": (200, 404, 404, 200, 200, 200),
            "another": (404, 200, 404, 200, 200, 200),
            "pool": (200, 200, 404, 200, 200, 200),  # the pool card (R6.4)
        },
        post={"own": ALL_405, "another": ALL_405, "pool": ALL_405},
    ),
    "customers:edit": Row(
        "customer",
        get={
            "own": (200, 404, 404, 200, 403, 200),
            "another": (404, 200, 404, 200, 403, 200),
            "pool": (403, 403, 404, 200, 403, 200),
        },
        post={
            "own": ("302+", "404", "404", "302+", "403", "302+"),
            "another": ("404", "302+", "404", "302+", "403", "302+"),
            "pool": ("403", "403", "404", "302+", "403", "302+"),
        },
    ),
    "customers:contact_add": Row(
        "customer",
        get={
            "own": (200, 404, 404, 200, 403, 200),
            "another": (404, 200, 404, 200, 403, 200),
            "pool": (403, 403, 404, 200, 403, 200),
        },
        post={
            "own": ("302+", "404", "404", "302+", "403", "302+"),
            "another": ("404", "302+", "404", "302+", "403", "302+"),
            "pool": ("403", "403", "404", "302+", "403", "302+"),
        },
    ),
    "customers:contact_edit": Row(
        "contact",
        get={
            "own": (200, 404, 404, 200, 403, 200),
            "another": (404, 200, 404, 200, 403, 200),
            "pool": (403, 403, 404, 200, 403, 200),
        },
        post={
            "own": ("302+", "404", "404", "302+", "403", "302+"),
            "another": ("404", "302+", "404", "302+", "403", "302+"),
            "pool": ("403", "403", "404", "302+", "403", "302+"),
        },
    ),
    "customers:contact_delete": Row(
        "contact",
        get={"own": G405, "another": G405, "pool": G405},
        post={
            "own": ("302+", "404", "404", "302+", "403", "302+"),
            "another": ("404", "302+", "404", "302+", "403", "302+"),
            "pool": ("403", "403", "404", "302+", "403", "302+"),
        },
    ),
    # --- customers: documents (R4.1) ----------------------------------------------------
    "customers:document_upload": Row(
        "customer",
        get={
            "own": (200, 404, 404, 200, 404, 200),
            "another": (404, 200, 404, 200, 404, 200),
            "pool": (404, 404, 404, 200, 404, 200),
        },
        post={
            "own": ("302+", "404", "404", "302+", "404", "302+"),
            "another": ("404", "302+", "404", "302+", "404", "302+"),
            "pool": ("404", "404", "404", "302+", "404", "302+"),
        },
    ),
    "customers:document_download": Row(
        "document",
        get={
            "own": (200, 404, 404, 200, 404, 200),
            "another": (404, 200, 404, 200, 404, 200),
            "pool": (404, 404, 404, 200, 404, 200),
        },
        post={
            "own": ALL_405,
            "another": ALL_405,
            "pool": ALL_405,
        },
    ),
    "customers:document_archive": Row(
        "document",
        get={
            "own": G405,
            "another": G405,
            "pool": G405,
        },
        post={
            "own": ("302+", "404", "404", "302+", "404", "302+"),
            "another": ("404", "302+", "404", "302+", "404", "302+"),
            "pool": ("404", "404", "404", "302+", "404", "302+"),
        },
    ),
    # --- ownership ---------------------------------------------------------------------------
    # R4.3 credit, with R5.5 (bad credit makes a problem customer): the owner sets good or watch.
    "ownership:credit_status": Row(
        "customer",
        get={
            "own": (200, 404, 404, 200, 200, 200),
            "another": (404, 200, 404, 200, 200, 200),
            "pool": (403, 403, 404, 200, 200, 200),
        },
        post={
            "own": ("302+", "404", "404", "302+", "302+", "302+"),
            "another": ("404", "302+", "404", "302+", "302+", "302+"),
            "pool": ("403", "403", "404", "302+", "302+", "302+"),
        },
    ),
    "ownership:pool_detail": Row(
        "customer",
        get={
            # An owned customer is not in the pool: who sees it goes to its page (a stale pool
            # link), the others get 404 (410 for a customer claimed from their pool since:
            # tests/test_pool_stale_links.py; "own" and "another" were never in the pool).
            "own": (302, 404, 404, 302, 302, 302),
            "another": (404, 302, 404, 302, 302, 302),
            "pool": (302, 302, 404, 302, 302, 302),  # -> customers:detail
        },
        post={"own": ALL_405, "another": ALL_405, "pool": ALL_405},
    ),
    "ownership:claim": Row(
        "customer",
        get={"own": G405, "another": G405, "pool": G405},
        post={
            # Claiming one's own customer: a redirect with "already yours". Another's customer
            # that did not just leave the pool: 404 (no "just claimed" naming it, R6.4).
            "own": ("302", "404", "404", "404", "404", "404"),
            "another": ("404", "302", "404", "404", "404", "404"),
            "pool": ("302+", "302+", "404", "403", "404", "404"),
        },
    ),
    "ownership:release_note": Row(
        "customer",
        get={
            "own": (200, 404, 404, 404, 404, 404),
            "another": (404, 200, 404, 404, 404, 404),
            "pool": (404, 404, 404, 404, 404, 404),
        },
        post={
            "own": ("302+", "404", "404", "404", "404", "404"),
            "another": ("404", "302+", "404", "404", "404", "404"),
            "pool": ("404", "404", "404", "404", "404", "404"),
        },
    ),
    "ownership:release": Row(
        "customer",
        get={"own": G405, "another": G405, "pool": G405},
        post={
            # The owner without a release note is sent back to write one (R7.3): no change.
            "own": ("302", "404", "404", "403", "403", "403"),
            "another": ("404", "302", "404", "403", "403", "403"),
            "pool": ("403", "403", "404", "403", "403", "403"),
        },
    ),
    "ownership:assign": Row(
        "customer",
        get={
            "own": (403, 403, 403, 200, 403, 200),
            "another": (403, 403, 403, 200, 403, 200),
            "pool": (403, 403, 403, 200, 403, 200),
        },
        post={
            # An owned customer cannot be assigned: the form shows why.
            "own": ("403", "403", "403", "200", "403", "200"),
            "another": ("403", "403", "403", "200", "403", "200"),
            "pool": ("403", "403", "403", "302+", "403", "302+"),
        },
    ),
    "ownership:mark_problem": Row(
        "customer",
        get={
            "own": (403, 403, 403, 200, 200, 200),
            "another": (403, 403, 403, 200, 200, 200),
            "pool": (403, 403, 403, 200, 200, 200),
        },
        post={
            "own": ("403", "403", "403", "302+", "302+", "302+"),
            "another": ("403", "403", "403", "302+", "302+", "302+"),
            "pool": ("403", "403", "403", "302+", "302+", "302+"),
        },
    ),
    "ownership:clear_problem": Row(
        "customer",
        get={"own": G405, "another": G405, "pool": G405},
        post={
            # Not a problem customer: refused with a message.
            "own": ("403", "403", "403", "302", "302", "302"),
            "another": ("403", "403", "403", "302", "302", "302"),
            "pool": ("403", "403", "403", "302", "302", "302"),
        },
    ),
    "ownership:extend": Row(
        "customer",
        get={
            "own": (403, 403, 403, 200, 403, 200),
            "another": (403, 403, 403, 200, 403, 200),
            "pool": (403, 403, 403, 200, 403, 200),
        },
        post={
            "own": ("403", "403", "403", "302+", "403", "302+"),
            "another": ("403", "403", "403", "302+", "403", "302+"),
            "pool": ("403", "403", "403", "200", "403", "200"),  # no deadline to extend
        },
    ),
    "ownership:missing_note_demand": Row(
        "missing_note",
        get={"own": G405, "another": G405},
        post={
            "own": ("403", "403", "403", "302+", "403", "302+"),
            "another": ("403", "403", "403", "302+", "403", "302+"),
        },
    ),
    # --- notifications -------------------------------------------------------------------------
    "notifications:read": Row(
        "notification",
        get={"own": G405, "another": G405},
        post={
            "own": ("302+", "404", "404", "404", "404", "404"),
            "another": ("404", "302+", "404", "404", "404", "404"),
        },
    ),
    # --- sales (R8) ---------------------------------------------------------------------
    "sales:order_create": Row(
        "customer",
        get={
            "own": (200, 404, 404, 403, 403, 403),
            "another": (404, 200, 404, 403, 403, 403),
            "pool": (403, 403, 404, 403, 403, 403),
        },
        post={
            "own": ("302+", "404", "404", "403", "403", "403"),
            "another": ("404", "302+", "404", "403", "403", "403"),
            "pool": ("403", "403", "404", "403", "403", "403"),
        },
    ),
    "sales:order_detail": Row(
        "order",
        get={
            "own": (200, 404, 404, 200, 200, 200),
            "another": (404, 200, 404, 200, 200, 200),
        },
        post={
            "own": ALL_405,
            "another": ALL_405,
        },
    ),
    "sales:payment_confirm": Row(
        "order",
        get={
            "own": G405,
            "another": G405,
        },
        post={
            "own": ("403", "404", "404", "403", "302+", "403"),
            "another": ("404", "403", "404", "403", "302+", "403"),
        },
    ),
    "sales:payment_reverse": Row(
        "payment",
        get={
            "own": (403, 404, 404, 403, 200, 403),
            "another": (404, 403, 404, 403, 200, 403),
        },
        post={
            "own": ("403", "404", "404", "403", "302+", "403"),
            "another": ("404", "403", "404", "403", "302+", "403"),
        },
    ),
    "sales:hold_release": Row(
        "hold",
        get={
            "own": G405,
            "another": G405,
        },
        post={
            "own": ("403", "403", "403", "302+", "403", "302+"),
            "another": ("403", "403", "403", "302+", "403", "302+"),
        },
    ),
    # --- followups (R3) -----------------------------------------------------------------
    "followups:visit_edit": Row(
        "visit",
        get={
            "own": (200, 404, 404, 403, 404, 403),
            "another": (404, 200, 404, 403, 404, 403),
        },
        post={
            "own": ("302+", "404", "404", "403", "404", "403"),
            "another": ("404", "302+", "404", "403", "404", "403"),
        },
    ),
    "followups:visit_add": Row(
        "customer",
        get={
            "own": G405,
            "another": G405,
            "pool": G405,
        },
        post={
            "own": ("302+", "404", "404", "403", "403", "403"),
            "another": ("404", "302+", "404", "403", "403", "403"),
            "pool": ("302+", "302+", "404", "403", "403", "403"),
        },
    ),
    "followups:report_detail": Row(
        "report",
        get={
            "own": (200, 404, 404, 200, 404, 200),
            "another": (404, 200, 404, 200, 404, 200),
        },
        post={
            "own": ALL_405,
            "another": ALL_405,
        },
    ),
    "followups:report_comment": Row(
        "report",
        get={
            "own": G405,
            "another": G405,
        },
        post={
            "own": ("302+", "404", "404", "302+", "404", "302+"),
            "another": ("404", "302+", "404", "302+", "404", "302+"),
        },
    ),
    # --- service (R6) -------------------------------------------------------------------
    "service:detail": Row(
        "service_request",
        get={
            "own": (200, 404, 404, 200, 404, 200),
            "another": (404, 200, 404, 200, 404, 200),
        },
        post={
            "own": ALL_405,
            "another": ALL_405,
        },
    ),
    "service:note": Row(
        "service_request",
        get={
            "own": G405,
            "another": G405,
        },
        post={
            "own": ("302+", "404", "404", "302+", "404", "302+"),
            "another": ("404", "302+", "404", "302+", "404", "302+"),
        },
    ),
    "service:solve": Row(
        "service_request",
        get={
            "own": G405,
            "another": G405,
        },
        post={
            "own": ("302+", "404", "404", "403", "404", "403"),
            "another": ("404", "302+", "404", "403", "404", "403"),
        },
    ),
    "service:refer": Row(
        "service_request",
        get={
            "own": G405,
            "another": G405,
        },
        post={
            "own": ("302+", "404", "404", "403", "404", "403"),
            "another": ("404", "302+", "404", "403", "404", "403"),
        },
    ),
    "service:plan": Row(
        "service_request",
        get={
            "own": G405,
            "another": G405,
        },
        post={
            "own": ("302+", "404", "404", "403", "404", "403"),
            "another": ("404", "302+", "404", "403", "404", "403"),
        },
    ),
    "service:move": Row(
        "service_plan",
        get={
            "own": G405,
            "another": G405,
        },
        post={
            "own": ("302+", "404", "404", "403", "404", "403"),
            "another": ("404", "302+", "404", "403", "404", "403"),
        },
    ),
    "service:close": Row(
        "service_plan",
        get={
            "own": G405,
            "another": G405,
        },
        post={
            "own": ("302+", "404", "404", "403", "404", "403"),
            "another": ("404", "302+", "404", "403", "404", "403"),
        },
    ),
    "service:add_helper": Row(
        "service_request",
        get={
            "own": G405,
            "another": G405,
        },
        post={
            "own": ("302+", "404", "404", "302+", "404", "302+"),
            "another": ("404", "302+", "404", "302+", "404", "302+"),
        },
    ),
    # --- collection (R1) ---------------------------------------------------------------
    # Imports: "own"/"another" = a checked upload of the owner/teammate. Reports: "own"/"another" =
    # a draft written by the owner/teammate, "published" = the manager's published report. Tasks:
    # a task of the owner/teammate in a draft of the manager.
    "collection:import_detail": Row(
        "import",
        get={"own": (200, 404, 404, 200, 404, 200), "another": (404, 200, 404, 200, 404, 200)},
        post={"own": ALL_405, "another": ALL_405},
    ),
    "collection:import_progress": Row(
        "import",
        # Not running: 204 and HX-Refresh, the page reloads.
        get={"own": (204, 404, 404, 204, 404, 204), "another": (404, 204, 404, 204, 404, 204)},
        post={"own": ALL_405, "another": ALL_405},
    ),
    "collection:import_rejected": Row(
        "import",
        get={"own": (200, 404, 404, 200, 404, 200), "another": (404, 200, 404, 200, 404, 200)},
        post={"own": ALL_405, "another": ALL_405},
    ),
    "collection:import_check": Row(
        "import",
        get={"own": G405, "another": G405},
        post={
            "own": ("302+", "404", "404", "302+", "404", "302+"),
            "another": ("404", "302+", "404", "302+", "404", "302+"),
        },
    ),
    "collection:import_run": Row(
        "import",
        get={"own": G405, "another": G405},
        post={
            "own": ("302+", "404", "404", "302+", "404", "302+"),
            "another": ("404", "302+", "404", "302+", "404", "302+"),
        },
    ),
    "collection:import_cancel": Row(
        "import",
        get={"own": G405, "another": G405},
        post={
            "own": ("302+", "404", "404", "302+", "404", "302+"),
            "another": ("404", "302+", "404", "302+", "404", "302+"),
        },
    ),
    "collection:report_detail": Row(
        "info_report",
        get={
            "own": (200, 404, 404, 200, 404, 200),
            "another": (404, 200, 404, 200, 404, 200),
            "published": (200, 200, 404, 200, 404, 200),
        },
        post={"own": ALL_405, "another": ALL_405, "published": ALL_405},
    ),
    "collection:report_edit": Row(
        "info_report",
        get={
            "own": (200, 404, 404, 200, 404, 200),
            "another": (404, 200, 404, 200, 404, 200),
            "published": (403, 403, 404, 403, 404, 403),
        },
        post={
            "own": ("302+", "404", "404", "302+", "404", "302+"),
            "another": ("404", "302+", "404", "302+", "404", "302+"),
            "published": ("403", "403", "404", "403", "404", "403"),
        },
    ),
    "collection:task_add": Row(
        "info_report",
        get={"own": G405, "another": G405, "published": G405},
        post={
            "own": ("302+", "404", "404", "302+", "404", "302+"),
            "another": ("404", "302+", "404", "302+", "404", "302+"),
            "published": ("403", "403", "404", "403", "404", "403"),
        },
    ),
    "collection:report_link": Row(
        "info_report",
        get={"own": G405, "another": G405, "published": G405},
        post={
            "own": ("302+", "404", "404", "302+", "404", "302+"),
            "another": ("404", "302+", "404", "302+", "404", "302+"),
            "published": ("403", "403", "404", "403", "404", "403"),
        },
    ),
    "collection:report_unlink": Row(
        "info_report",
        get={"own": G405, "another": G405, "published": G405},
        post={
            "own": ("302+", "404", "404", "302+", "404", "302+"),
            "another": ("404", "302+", "404", "302+", "404", "302+"),
            "published": ("403", "403", "404", "403", "404", "403"),
        },
    ),
    "collection:report_publish": Row(
        "info_report",
        get={"own": G405, "another": G405, "published": G405},
        post={
            # Publishing is a manager's act (R1.3); the author may not publish its own draft.
            "own": ("403", "404", "404", "302+", "404", "302+"),
            "another": ("404", "403", "404", "302+", "404", "302+"),
            "published": ("403", "403", "404", "403", "404", "403"),
        },
    ),
    "collection:report_archive": Row(
        "info_report",
        get={"own": G405, "another": G405, "published": G405},
        post={
            "own": ("403", "404", "404", "403", "404", "403"),
            "another": ("404", "403", "404", "403", "404", "403"),
            "published": ("403", "403", "404", "302+", "404", "302+"),
        },
    ),
    "collection:task_findings": Row(
        "info_task",
        get={"own": G405, "another": G405},
        post={
            # Only the assignee writes findings; its manager sees the draft but may not.
            "own": ("302+", "404", "404", "403", "404", "403"),
            "another": ("404", "302+", "404", "403", "404", "403"),
        },
    ),
    "collection:task_remove": Row(
        "info_task",
        get={"own": G405, "another": G405},
        post={
            # The assignee sees the manager's draft but does not change its tasks.
            "own": ("403", "404", "404", "302+", "404", "302+"),
            "another": ("404", "403", "404", "302+", "404", "302+"),
        },
    ),
    # --- handovers (R7.1, R7.2) ---------------------------------------------------------------
    # "own": the owner hands a customer over to the teammate; "another": the teammate hands one
    # over to the owner. The leaver and the receiver see the handover (the receiver only its
    # items); only managers of the department (and admins) send, complete, cancel, add and
    # refresh; only the leaver writes notes; only the receiver confirms; everyone else 404.
    "handovers:detail": Row(
        "handover",
        get={"own": (200, 200, 404, 200, 404, 200), "another": (200, 200, 404, 200, 404, 200)},
        post={"own": ALL_405, "another": ALL_405},
    ),
    "handovers:send": Row(
        "handover",
        get={"own": G405, "another": G405},
        post={
            "own": ("403", "403", "404", "302+", "404", "302+"),
            "another": ("403", "403", "404", "302+", "404", "302+"),
        },
    ),
    "handovers:confirm": Row(
        "handover",
        get={"own": G405, "another": G405},
        post={
            "own": ("403", "302+", "404", "403", "404", "403"),
            "another": ("302+", "403", "404", "403", "404", "403"),
        },
    ),
    "handovers:complete": Row(
        "handover_ready",
        get={"own": G405, "another": G405},
        post={
            "own": ("403", "403", "404", "302+", "404", "302+"),
            "another": ("403", "403", "404", "302+", "404", "302+"),
        },
    ),
    "handovers:cancel": Row(
        "handover",
        get={"own": (403, 403, 404, 200, 404, 200), "another": (403, 403, 404, 200, 404, 200)},
        post={
            "own": ("403", "403", "404", "302+", "404", "302+"),
            "another": ("403", "403", "404", "302+", "404", "302+"),
        },
    ),
    "handovers:add": Row(
        "handover",
        get={"own": G405, "another": G405},
        post={
            "own": ("403", "403", "404", "302+", "404", "302+"),
            "another": ("403", "403", "404", "302+", "404", "302+"),
        },
    ),
    "handovers:refresh": Row(
        "handover",
        get={"own": G405, "another": G405},
        post={
            "own": ("403", "403", "404", "302+", "404", "302+"),
            "another": ("403", "403", "404", "302+", "404", "302+"),
        },
    ),
    "handovers:item": Row(
        "handover_item",
        get={"own": (200, 200, 404, 200, 404, 200), "another": (200, 200, 404, 200, 404, 200)},
        post={
            "own": ("302+", "403", "404", "403", "404", "403"),
            "another": ("403", "302+", "404", "403", "404", "403"),
        },
    ),
}


def id_url_names() -> set[str]:
    """Every "app:name" of the three apps whose route has an int converter."""
    found: set[str] = set()

    def walk(patterns, namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, p.namespace or namespace)
            elif isinstance(p, URLPattern) and namespace in APPS and p.name:
                converters = getattr(p.pattern, "converters", {})
                if any(isinstance(c, IntConverter) for c in converters.values()):
                    found.add(f"{namespace}:{p.name}")

    walk(get_resolver().url_patterns, None)
    return found


def test_every_id_url_is_in_the_table():
    urls = id_url_names()
    assert urls, "the resolver walk found nothing"
    missing = sorted(urls - set(TABLE))
    assert not missing, f"add these URLs to TABLE in {__name__}: {missing}"
    stale = sorted(set(TABLE) - urls)
    assert not stale, f"TABLE names URLs that no longer exist: {stale}"


# --- The world every cell runs in ---------------------------------------------------------------


@pytest.fixture
def world(owner, teammate, outsider, manager, finance, admin_user, department, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    today = local_today()
    since = today - timedelta(days=10)
    customers = {
        "own": owned_customer(owner, since=since, name="宁波德润精密机械有限公司", source="media"),
        "another": owned_customer(teammate, since=since, name="厦门蓝海食品有限公司", source="media"),
        "pool": pool_customer(department, name="苏州嘉禾食品有限公司", source="media"),
    }
    for c in customers.values():
        ContactFactory(customer=c)
    # The missing release notes (R7.3) are on another pool customer: on "pool" they would let
    # their former owners open its release note page.
    released = pool_customer(department, name="杭州恒通贸易有限公司")
    missing = {
        kind: MissingReleaseNote.objects.create(
            customer=released,
            former_owner=user,
            ownership_started=since - timedelta(days=70),
            released_at=at(since - timedelta(days=5), 1),
            reason=ReleaseReason.NO_DEAL,
        )
        for kind, user in (("own", owner), ("another", teammate))
    }
    notes = {
        kind: Notification.objects.create(
            recipient=user, kind="warning", text="到期提醒", url="/customers/mine/", created_at=at(since)
        )
        for kind, user in (("own", owner), ("another", teammate))
    }
    people = {"own": owner, "another": teammate}
    documents = {
        kind: document_upload(
            customer=c,
            user=people.get(kind, manager),
            data=DocumentInput(kind="business_licence", number="91330200MA2AXXXX1X"),
            file_name="营业执照.pdf",
            chunks=[PDF],
        )
        for kind, c in customers.items()
    }
    # Orders of 10,000 with 4,000 confirmed (confirmable again and reversible), on customers of
    # their own: a confirmed sale moves the ownership clock the ownership rows above rely on.
    sold = {
        kind: owned_customer(user, since=since, name=f"{user}的已成交客户有限公司") for kind, user in people.items()
    }
    orders = {kind: record(sold[kind], user, day=today) for kind, user in people.items()}
    payments = {kind: confirm(order, finance, "4000.00", day=today).payment for kind, order in orders.items()}
    holds = {
        kind: sales_services.commission_hold_set(salesperson=user, user=manager, reason="交接中")
        for kind, user in people.items()
    }
    visits = {
        kind: followups_services.visit_record(
            customer=customers[kind],
            user=user,
            data=followups_services.VisitInput(
                visited_at=timezone.now() - timedelta(hours=2), channel="visit", discussed="介绍产品"
            ),
        )
        for kind, user in people.items()
    }
    reports = {
        kind: followups_services.report_submit(
            salesperson=user, kind="daily", period_start=today, summary="今日拜访一家", user=user
        )
        for kind, user in people.items()
    }

    def request_of(kind, user):
        return service_services.request_log(
            user=user,
            data=service_services.RequestInput(kind="complaint", channel="phone", text="投诉交货延迟"),
            customer=customers[kind],
        )

    requests = {kind: request_of(kind, user) for kind, user in people.items()}
    planned = {}
    for kind, user in people.items():
        planned[kind] = service_services.request_plan(
            request=request_of(kind, user), user=user, expected_on=today + timedelta(days=2), told_customer="两天内"
        )
    batches = {}
    for kind, user in people.items():
        rows = [
            [company_name(9_000 + len(batches) * 10 + i), make_credit_code(random.Random(len(batches) * 10 + i))]
            for i in range(2)
        ]
        batch = collection_services.import_upload(
            user=user,
            file_name="客户名单.csv",
            data=csv_bytes(rows, header=["公司名称", "统一社会信用代码"]),
            source="media",
        )
        batches[kind] = collection_services.import_check(batch=batch, user=user, mapping=batch.mapping)
    report_data = {
        "title": "华东食品行业信息报告",
        "category": "食品",
        "information_needed": "采购计划",
        "work_plan": "走访十家",
        "summary": "需求集中在包装",
        "needs_direction": "包装自动化",
    }
    info_reports = {}
    for kind, user in (*people.items(), ("published", manager)):
        report = collection_services.report_create(user=user, data=report_data)
        collection_services.report_link_customer(report=report, user=user, customer=customers["pool"])
        info_reports[kind] = report
    collection_services.report_publish(report=info_reports["published"], user=manager)
    info_tasks = {}
    for kind, user in people.items():
        report = collection_services.report_create(user=manager, data={**report_data, "title": f"{user}的任务"})
        info_tasks[kind] = collection_services.report_task_add(
            report=report, user=manager, assignee=user, text="收集三家客户的采购计划"
        )
    handovers, ready, extra = {}, {}, {}
    for kind, (leaver, receiver) in (("own", (owner, teammate)), ("another", (teammate, owner))):
        held = owned_customer(leaver, since=since, name=f"{leaver}的交接客户有限公司")
        done = owned_customer(leaver, since=since, name=f"{leaver}的已确认交接客户有限公司")
        extra[kind] = owned_customer(leaver, since=since, name=f"{leaver}的待加入交接客户有限公司")
        handovers[kind] = handover_services.handover_open(
            kind="transfer",
            leaver=leaver,
            manager=manager,
            reason="position",
            customer_ids=[held.pk],
            receiver=receiver,
        )
        ready[kind] = handover_services.handover_open(
            kind="transfer",
            leaver=leaver,
            manager=manager,
            reason="position",
            customer_ids=[done.pk],
            receiver=receiver,
        )
        handover_services.handover_confirm(handover=ready[kind], user=receiver)
    return {
        "handovers": handovers,
        "handovers_ready": ready,
        "handover_extra": extra,
        "customers": customers,
        "imports": batches,
        "info_reports": info_reports,
        "info_tasks": info_tasks,
        "missing": missing,
        "notifications": notes,
        "documents": documents,
        "orders": orders,
        "payments": payments,
        "holds": holds,
        "visits": visits,
        "reports": reports,
        "service_requests": requests,
        "service_plans": planned,
        "department": department,
        "finance": finance,
        "report_data": report_data,
    }


TARGETS = {
    "missing_note": "missing",
    "notification": "notifications",
    "order": "orders",
    "payment": "payments",
    "hold": "holds",
    "visit": "visits",
    "report": "reports",
    "service_request": "service_requests",
    "service_plan": "service_plans",
    "import": "imports",
    "info_report": "info_reports",
    "handover": "handovers",
    "handover_ready": "handovers_ready",
}


def url_args(row: Row, kind: str, world, url_name: str = "") -> list:
    if url_name == "collection:import_rejected":
        return [world["imports"][kind].pk, "csv"]
    if row.target == "handover_item":
        handover = world["handovers"][kind]
        return [handover.pk, HandoverItem.objects.get(handover=handover).pk]
    if row.target == "info_task":
        task = world["info_tasks"][kind]
        return [task.report_id, task.pk]
    if row.target == "customer":
        return [world["customers"][kind].pk]
    if row.target == "contact":
        customer = world["customers"][kind]
        return [customer.pk, customer.contacts.order_by("id").first().pk]
    if row.target == "document":
        return [world["customers"][kind].pk, world["documents"][kind].pk]
    return [world[TARGETS[row.target]][kind].pk]


def payload(url_name: str, kind: str, world, teammate) -> dict:
    customer = world["customers"].get(kind)
    today = local_today()
    if url_name == "customers:edit":
        return {
            "name": customer.name,
            "credit_code": customer.credit_code,
            "industry": customer.industry,
            "source": "agency",
            "city": "宁波市",
        }
    if url_name == "ownership:credit_status":
        return {"status": "watch", "note": "逾期30天"}
    if url_name in ("customers:contact_add", "customers:contact_edit"):
        return {"name": "钱经理", "position": "采购", "phone": "13500001111"}
    if url_name == "customers:document_upload":
        return {"kind": "other", "number": "", "file": SimpleUploadedFile("其他.pdf", PDF)}
    if url_name == "ownership:release_note":
        return {"situation": "在谈价格", "contact_details": "钱经理 13500001111", "communication_level": "已报价"}
    if url_name == "ownership:assign":
        return {"to_user": teammate.pk, "relationship": "on", "introduced_by": "王总"}
    if url_name in ("ownership:mark_problem", "ownership:clear_problem"):
        return {"reason": "拖欠货款"}
    if url_name == "ownership:extend":
        deadline = customer.deadline or local_today()
        return {"new_deadline": (deadline + timedelta(days=10)).isoformat(), "reason": "大单在谈"}
    if url_name == "sales:order_create":
        return {"amount": "5000", "deal_date": today.isoformat(), "description": "工业控制器 5 台"}
    if url_name == "sales:payment_confirm":
        return {"amount": "1000", "received_on": today.isoformat(), "confirmed": "1"}
    if url_name == "sales:payment_reverse":
        return {"reason": "银行退票"}
    if url_name == "sales:hold_release":
        return {"note": "交接完成"}
    if url_name in ("followups:visit_edit", "followups:visit_add"):
        return {
            "visited_at": timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "channel": "phone",
            "discussed": "电话沟通交期",
        }
    if url_name == "followups:report_comment":
        return {"text": "收到"}
    if url_name in ("service:note", "service:solve", "service:close"):
        return {f"{url_name.split(':')[1]}-text": "已处理"}
    if url_name == "service:refer":
        return {"refer-department": world["department"].pk, "refer-reason": "转售后部"}
    if url_name == "service:plan":
        return {"plan-expected_on": (today + timedelta(days=3)).isoformat(), "plan-told_customer": "三天内回复"}
    if url_name == "service:move":
        return {"move-new_date": (today + timedelta(days=5)).isoformat(), "move-reason": "备件延迟"}
    if url_name == "service:add_helper":
        return {"helper-helper": world["finance"].pk}
    if url_name == "collection:import_check":
        return {k: "" if v is None else str(v) for k, v in world["imports"][kind].mapping.items()}
    if url_name == "collection:report_edit":
        return {**world["report_data"], "summary": "需求集中在包装与冷链"}
    if url_name == "collection:task_add":
        return {"assignee": teammate.pk, "text": "走访三家客户"}
    if url_name == "collection:report_link":
        return {"customer": world["customers"].get(kind, world["customers"]["pool"]).pk}
    if url_name == "collection:report_unlink":
        return {"customer": world["customers"]["pool"].pk}
    if url_name == "handovers:send":
        return {"items": [HandoverItem.objects.get(handover=world["handovers"][kind]).pk], "destination": "pool"}
    if url_name == "handovers:confirm":
        return {"all": "1"}
    if url_name == "handovers:cancel":
        return {"reason": "调岗取消"}
    if url_name == "handovers:add":
        return {"customers": [world["handover_extra"][kind].pk]}
    if url_name == "handovers:item":
        return {"situation": "在谈框架协议", "key_contacts": "钱经理 13500001111", "stage": "已报价"}
    if url_name == "collection:task_findings":
        task = world["info_tasks"][kind]
        return {f"t{task.pk}-findings": "三家计划明年扩产"}
    return {}


def state() -> tuple:
    """Everything a URL of these apps can change."""
    return (
        list(
            Customer.objects.order_by("pk").values_list(
                "pk",
                "owner_id",
                "owner_basis",
                "owned_since",
                "deadline",
                "deadline_extended",
                "released_at",
                "release_reason",
                "is_problem",
                "problem_reason",
                "name",
                "source",
                "credit_status",
                "handover_ref",
            )
        ),
        list(Contact.objects.order_by("pk").values_list("pk", "customer_id", "name", "phone")),
        OwnershipEvent.objects.count(),
        ReleaseNote.objects.count(),
        CreditStatusChange.objects.count(),
        list(Notification.objects.filter(read_at__isnull=False).values_list("pk", flat=True)),
        list(MissingReleaseNote.objects.order_by("pk").values_list("pk", "demanded_at", "note_id")),
        Notification.objects.count(),
        list(CustomerDocument.objects.order_by("pk").values_list("pk", "archived_at")),
        list(Order.objects.order_by("pk").values_list("pk", "status", "paid_amount", "confirmed_on")),
        list(Payment.objects.order_by("pk").values_list("pk", "reversed_at")),
        list(CommissionHold.objects.order_by("pk").values_list("pk", "released_at")),
        list(Visit.objects.order_by("pk").values_list("pk", "discussed", "channel", "visited_at")),
        list(Report.objects.order_by("pk").values_list("pk", "status", "summary")),
        ReportComment.objects.count(),
        list(
            ServiceRequest.objects.order_by("pk").values_list(
                "pk", "responsible_id", "text", "status", "outcome", "due_on", "handling_department_id"
            )
        ),
        RequestEvent.objects.count(),
        RequestHelper.objects.count(),
        list(ImportBatch.objects.order_by("pk").values_list("pk", "status", "checked_at", "imported_count")),
        list(ImportRow.objects.order_by("pk").values_list("pk", flat=True)),
        list(InfoReport.objects.order_by("pk").values_list("pk", "status", "summary", "published_at", "archived_at")),
        list(InfoReportCustomer.objects.order_by("pk").values_list("report_id", "customer_id")),
        list(InfoTask.objects.order_by("pk").values_list("pk", "findings")),
        InfoReportEvent.objects.count(),
        list(Handover.objects.order_by("pk").values_list("pk", "state", "all_done_at", "cancelled_at")),
        list(
            HandoverItem.objects.order_by("pk").values_list(
                "pk", "receiver_id", "to_pool", "confirmed_at", "situation", "summary_at"
            )
        ),
        HandoverEvent.objects.count(),
    )


CELLS = [pytest.param(url_name, kind, id=f"{url_name}-{kind}") for url_name, row in TABLE.items() for kind in row.get]


def check_cell(client_for, world, teammate, user, url_name: str, kind: str, role: str) -> None:
    row = TABLE[url_name]
    i = ROLES.index(role)
    client = client_for(user)
    url = reverse(url_name, args=url_args(row, kind, world, url_name))

    before = state()
    response = client.get(url)
    assert response.status_code == row.get[kind][i], f"GET {url_name} ({kind}) as {role}: {response.status_code}"
    assert state() == before, f"GET {url_name} ({kind}) as {role} changed something"

    expected = row.post[kind][i]
    response = client.post(url, payload(url_name, kind, world, teammate))
    assert response.status_code == int(expected.rstrip("+")), (
        f"POST {url_name} ({kind}) as {role}: {response.status_code}"
    )
    if expected.endswith("+"):
        assert state() != before, f"POST {url_name} ({kind}) as {role} should have changed something"
    else:
        assert state() == before, f"POST {url_name} ({kind}) as {role} changed something"


@pytest.mark.parametrize(("url_name", "kind"), CELLS)
def test_access(request, client_for, world, teammate, url_name, kind):
    """The six roles of one URL and kind of object, each in a savepoint rolled back afterwards, so
    every role meets the same world (built once: it is the slow part)."""
    failures = []
    for role in ROLES:
        with transaction.atomic():
            try:
                check_cell(client_for, world, teammate, request.getfixturevalue(role), url_name, kind, role)
            except AssertionError as exc:
                failures.append(str(exc).splitlines()[0])
            transaction.set_rollback(True)
    assert not failures, "\n".join(failures)


def test_contact_of_another_customer_is_404(client_for, world, owner):
    """A crafted cid: the owner's customer with the teammate's customer's contact."""
    own = world["customers"]["own"]
    foreign = world["customers"]["another"].contacts.first()
    before = state()
    client = client_for(owner)
    assert client.get(reverse("customers:contact_edit", args=[own.pk, foreign.pk])).status_code == 404
    response = client.post(reverse("customers:contact_delete", args=[own.pk, foreign.pk]))
    assert response.status_code == 404
    response = client.post(
        reverse("customers:contact_edit", args=[own.pk, foreign.pk]), {"name": "改", "phone": "13500002222"}
    )
    assert response.status_code == 404
    assert state() == before


@pytest.mark.parametrize("pk", [0, 2**31, 2**63])
def test_unknown_or_huge_ids_are_404_never_500(client_for, manager, owner, pk):
    for url_name, row in TABLE.items():
        args: list = [pk, pk] if row.target in ("contact", "document", "info_task", "handover_item") else [pk]
        if url_name == "collection:import_rejected":
            args = [pk, "csv"]
        url = reverse(url_name, args=args)
        for user in (owner, manager):
            client = client_for(user)
            for method in ("get", "post"):
                status = getattr(client, method)(url).status_code
                assert status in (403, 404, 405), f"{method.upper()} {url} as {user.username}: {status}"


# --- Reports: ids in the query string (dashboard, issue 13) -------------------------------------------

SP_403 = (403, 403, 403)
REPORT_TABLE: dict[str, tuple] = {
    # `/` is the home page of each role: the workbench, the team dashboard, the finance home.
    "home": (200, 200, 200, 200, 200, 200),
    "dashboard:workbench": (200, 200, 200, 403, 403, 403),
    "dashboard:team": (*SP_403, 200, 403, 200),
    "dashboard:finance": (*SP_403, 200, 200, 200),
    "dashboard:movements": (*SP_403, 200, 403, 200),
    "dashboard:sales": (*SP_403, 200, 200, 200),
    "dashboard:receivables": (*SP_403, 200, 200, 200),
    "dashboard:receivables_export": (*SP_403, 200, 200, 200),
    "dashboard:commission_export": (*SP_403, 200, 200, 200),
}


def test_every_report_is_in_the_table():
    from dashboard.urls import urlpatterns

    assert {f"dashboard:{p.name}" for p in urlpatterns} | {"home"} == set(REPORT_TABLE)


def test_report_by_role(request, client_for, world, owner, teammate):
    """Each report asked, by every role, for the teammate's figures (?salesperson=, ?department=):
    the status of the table, nothing changed, POST refused; and no salesperson's page shows the
    teammate's customer or order."""
    failures = []
    query = f"?salesperson={teammate.pk}&department={world['department'].pk}&date_from=2026-01-01"
    their_customer = world["customers"]["another"].name
    for url_name, statuses in REPORT_TABLE.items():
        url = reverse(url_name) + query
        for role, expected in zip(ROLES, statuses, strict=True):
            user = request.getfixturevalue(role)
            client = client_for(user)
            before = state()
            response = client.get(url)
            if response.status_code != expected:
                failures.append(f"GET {url_name} as {role}: {response.status_code}, expected {expected}")
            if state() != before:
                failures.append(f"GET {url_name} as {role} changed something")
            shown = response.status_code == 200 and their_customer in response.content.decode(errors="replace")
            if user.is_salesperson and user != teammate and shown:
                failures.append(f"GET {url_name} as {role} shows the teammate's customer")
            if client.post(reverse(url_name)).status_code != 405:
                failures.append(f"POST {url_name} as {role} is not refused")
    assert not failures, "\n".join(failures)
