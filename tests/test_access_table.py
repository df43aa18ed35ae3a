"""Who may open or change what (R6.4, R5.5-R5.11, R7.3): one table over every URL of the
customers, ownership and notifications apps that takes an id.

For each URL, each kind of object and each role the table gives the status of a GET and of a
crafted POST (a valid form, so that only the permission check can stop it). A status written
``"302+"`` means the POST changes state; any other POST, and every GET, must leave the database
exactly as it was (owner, deadline, history rows, notes, contacts, notifications ...).

Roles, in the order of the tuples: the owner (salesperson), a teammate (another salesperson of
the same department), an outsider (salesperson of another department), the department's manager,
finance and an admin. Kinds: "own" = owned by `owner`, "another" = owned by `teammate`, "pool" =
a pool customer of the department. For notifications and missing release notes, "own" and
"another" are the owner's and the teammate's item.

A new URL with an ``<int:…>`` parameter in these apps makes test_every_id_url_is_in_the_table
fail until it is added here. (sales/ and followups/ test their own URLs.)
"""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter

from crm.dates import local_today
from customers.models import Contact, CreditStatusChange, Customer, ReleaseReason
from notifications.models import Notification
from ownership.models import MissingReleaseNote, OwnershipEvent, ReleaseNote

from .factories import ContactFactory
from .helpers import at, owned_customer, pool_customer

pytestmark = pytest.mark.django_db

ROLES = ("owner", "teammate", "outsider", "manager", "finance", "admin_user")
APPS = ("customers", "ownership", "notifications")


@dataclass(frozen=True)
class Row:
    target: str  # what the id names: customer | contact | missing_note | notification
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
    "customers:credit_status": Row(
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
    # --- ownership ---------------------------------------------------------------------------
    "ownership:pool_detail": Row(
        "customer",
        get={
            "own": (404, 404, 404, 404, 404, 404),  # an owned customer is not in the pool
            "another": (404, 404, 404, 404, 404, 404),
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
def world(owner, teammate, outsider, manager, finance, admin_user, department):
    since = local_today() - timedelta(days=10)
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
    return {"customers": customers, "missing": missing, "notifications": notes}


def url_args(row: Row, kind: str, world) -> list[int]:
    if row.target == "customer":
        return [world["customers"][kind].pk]
    if row.target == "contact":
        customer = world["customers"][kind]
        return [customer.pk, customer.contacts.order_by("id").first().pk]
    if row.target == "missing_note":
        return [world["missing"][kind].pk]
    return [world["notifications"][kind].pk]


def payload(url_name: str, kind: str, world, teammate) -> dict:
    customer = world["customers"].get(kind)
    if url_name == "customers:edit":
        return {
            "name": customer.name,
            "credit_code": customer.credit_code,
            "industry": customer.industry,
            "source": "agency",
            "city": "宁波市",
        }
    if url_name == "customers:credit_status":
        return {"status": "watch", "note": "逾期30天"}
    if url_name in ("customers:contact_add", "customers:contact_edit"):
        return {"name": "钱经理", "position": "采购", "phone": "13500001111"}
    if url_name == "ownership:release_note":
        return {"situation": "在谈价格", "contact_details": "钱经理 13500001111", "communication_level": "已报价"}
    if url_name == "ownership:assign":
        return {"to_user": teammate.pk, "relationship": "on", "introduced_by": "王总"}
    if url_name in ("ownership:mark_problem", "ownership:clear_problem"):
        return {"reason": "拖欠货款"}
    if url_name == "ownership:extend":
        deadline = customer.deadline or local_today()
        return {"new_deadline": (deadline + timedelta(days=10)).isoformat(), "reason": "大单在谈"}
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
            )
        ),
        list(Contact.objects.order_by("pk").values_list("pk", "customer_id", "name", "phone")),
        OwnershipEvent.objects.count(),
        ReleaseNote.objects.count(),
        CreditStatusChange.objects.count(),
        list(Notification.objects.filter(read_at__isnull=False).values_list("pk", flat=True)),
        list(MissingReleaseNote.objects.order_by("pk").values_list("pk", "demanded_at", "note_id")),
    )


CELLS = [
    pytest.param(url_name, kind, role, id=f"{url_name}-{kind}-{role}")
    for url_name, row in TABLE.items()
    for kind in row.get
    for role in ROLES
]


@pytest.mark.parametrize(("url_name", "kind", "role"), CELLS)
def test_access(request, client_for, world, teammate, url_name, kind, role):
    row = TABLE[url_name]
    i = ROLES.index(role)
    client = client_for(request.getfixturevalue(role))
    url = reverse(url_name, args=url_args(row, kind, world))

    before = state()
    response = client.get(url)
    assert response.status_code == row.get[kind][i], f"GET {url_name} ({kind}) as {role}"
    assert state() == before, f"GET {url_name} ({kind}) as {role} changed something"

    expected = row.post[kind][i]
    response = client.post(url, payload(url_name, kind, world, teammate))
    assert response.status_code == int(expected.rstrip("+")), f"POST {url_name} ({kind}) as {role}"
    if expected.endswith("+"):
        assert state() != before, f"POST {url_name} ({kind}) as {role} should have changed something"
    else:
        assert state() == before, f"POST {url_name} ({kind}) as {role} changed something"


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
        args = [pk, pk] if row.target == "contact" else [pk]
        url = reverse(url_name, args=args)
        for user in (owner, manager):
            client = client_for(user)
            for method in ("get", "post"):
                status = getattr(client, method)(url).status_code
                assert status in (403, 404, 405), f"{method.upper()} {url} as {user.username}: {status}"
