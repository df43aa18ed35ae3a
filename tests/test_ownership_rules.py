"""Rule defects of issue 11 that need no second connection: R4.1 in the service layer, R5.8 cool-off
shown as enforced and counted from the as-of day of a catch-up run.

(R8.2 reversals: tests/test_ownership_reversal.py; R5.5 bad credit: tests/test_problem_credit.py;
races: tests/test_ownership_rules_pg.py and tests/test_soak_pg.py.)
"""

from datetime import date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from collection.models import ImportBatch
from customers.models import Customer, ReleaseReason
from customers.services import customer_create, customer_update, customers_bulk_create
from ownership import nightly, selectors, services
from ownership.models import Action, MissingReleaseNote, OwnershipEvent

from .factories import make_credit_code
from .helpers import SHANGHAI, at, owned_customer, pool_customer, reload

pytestmark = pytest.mark.django_db

BAD_CHECK = "91350100M000100Y44"  # the valid code ends in 3


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _data(code: str, name: str = "福州闽江电子有限公司") -> dict:
    return {"name": name, "credit_code": code, "source": "media", "industry": "electronics"}


# --- R4.1: the credit code is checked by the services, not only by the form ----------------------


def test_r4_1_register_refuses_a_wrong_check_character_without_the_form(owner):
    with pytest.raises(services.DomainError, match="check character"):
        services.customer_register(
            data=_data(BAD_CHECK), contacts=[{"name": "王经理", "phone": "13800138000"}], user=owner
        )
    assert not Customer.objects.exists() and not OwnershipEvent.objects.exists()


@pytest.mark.parametrize(
    ("code", "why"),
    [(BAD_CHECK, "check character"), ("9135", "18 characters"), ("91350100I000100Y43", "Invalid characters")],
)
def test_r4_1_customer_create_says_what_is_wrong(department, code, why):
    with pytest.raises(services.DomainError, match=why):
        customer_create(data=_data(code), contacts=[], department_id=department.pk, created_by=None)
    assert not Customer.objects.exists()


def test_r4_1_customer_create_normalises_a_valid_code(department):
    code = make_credit_code()
    c = customer_create(data=_data(" " + code.lower() + " "), contacts=[], department_id=department.pk, created_by=None)
    assert c.credit_code == code
    assert (
        customer_create(
            data=_data("", "福州另一家公司"), contacts=[], department_id=department.pk, created_by=None
        ).credit_code
        is None
    )


def test_r4_1_customer_update_refuses_a_wrong_check_character(owner):
    c = owned_customer(owner, since=date(2026, 1, 5))
    before = c.credit_code
    with pytest.raises(services.DomainError, match="check character"):
        customer_update(customer=c, user=owner, data={**_data(BAD_CHECK, c.name)})
    c.refresh_from_db()
    assert c.credit_code == before


def test_r4_1_bulk_create_and_import_refuse_a_wrong_check_character(owner, department):
    rows = [_data(make_credit_code(), "厦门一号有限公司"), _data(BAD_CHECK, "厦门二号有限公司")]
    with pytest.raises(services.DomainError, match=r"厦门二号有限公司.*check character"):
        customers_bulk_create(rows=rows, department_id=department.pk, created_by=owner)
    with pytest.raises(services.DomainError, match="check character"):
        services.customers_import_into_pool(
            rows=rows, department_id=department.pk, user=owner, now=at(date(2026, 3, 1))
        )
    assert not Customer.objects.exists() and not OwnershipEvent.objects.exists()
    assert not ImportBatch.objects.exists()


# --- R5.8: the cool-off shown is the cool-off enforced ----------------------------------------------


def test_r5_8_pages_show_the_cooloff_the_claim_enforces_after_a_colleague_in_between(
    client_for, owner, teammate, department, time_machine
):
    """The owner loses the customer to R5.2 on 9 Feb; a teammate claims it on the 10th and releases
    it on the 11th. On the 12th the pool row and the customer page show "from 11 Mar" instead of
    a claim button, as the claim itself refuses (the last release alone is the teammate's)."""
    c = pool_customer(department, released_from=owner, reason=ReleaseReason.NO_DEAL, released_on=date(2026, 2, 9))
    OwnershipEvent.objects.create(
        customer=c, action=Action.RELEASED, from_owner=owner, reason=ReleaseReason.NO_DEAL, at=at(date(2026, 2, 9), 1)
    )
    services.customer_claim(customer=c, user=teammate, now=at(date(2026, 2, 10)))
    services.release_note_write(
        customer=c, user=teammate, situation="无需求", contact_details="—", communication_level="初次接触"
    )
    services.customer_release(customer=reload(c), user=teammate, now=at(date(2026, 2, 11)))
    time_machine.move_to(datetime(2026, 2, 12, 10, 0, tzinfo=SHANGHAI), tick=False)
    claim_url = reverse("ownership:claim", args=[c.pk])

    page = client_for(owner).get(reverse("ownership:pool")).content.decode()
    row = page[page.index(f'id="pool-row-{c.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "2026-03-11" in row and claim_url not in row
    detail = client_for(owner).get(reverse("customers:detail", args=[c.pk])).content.decode()
    assert "2026-03-11" in detail and claim_url not in detail
    with pytest.raises(services.ClaimRefused, match="2026-03-11"):
        services.customer_claim(customer=reload(c), user=owner, now=at(date(2026, 2, 12)))
    # The teammate's own release was voluntary: it waits too, from the 11th.
    page = client_for(teammate).get(reverse("ownership:pool")).content.decode()
    row = page[page.index(f'id="pool-row-{c.pk}"') :]
    assert "2026-03-13" in row[: row.index("</tr>")]


def test_r5_8_the_pool_page_reads_the_cooloffs_of_a_page_in_one_query(client_for, owner, department):
    for _ in range(3):
        pool_customer(department, released_from=owner, reason=ReleaseReason.NO_DEAL, released_on=date(2026, 11, 20))
    client = client_for(owner)
    client.get(reverse("ownership:pool"))
    with CaptureQueriesContext(connection) as three:
        client.get(reverse("ownership:pool"))
    for _ in range(10):
        pool_customer(department, released_from=owner, reason=ReleaseReason.NO_DEAL, released_on=date(2026, 11, 20))
    with CaptureQueriesContext(connection) as thirteen:
        client.get(reverse("ownership:pool"))
    assert len(thirteen) == len(three)


# --- R5.8: a catch-up run releases as of its as-of day ------------------------------------------------


def test_r5_8_a_late_run_counts_the_cooloff_from_the_as_of_day(owner, teammate):
    """The deadline was 3 Mar; the run as of 4 Mar only ran on 7 Mar (by hand, --as-of 2026-03-04).
    The release, its history row and the missing-note item are stamped 4 Mar 01:00: the owner may
    claim again from 3 Apr (4 Mar + 30 days), not from 6 Apr."""
    c = owned_customer(owner, since=date(2026, 1, 3))
    assert c.deadline == date(2026, 3, 3)
    nightly.nightly_release(as_of=date(2026, 3, 4), now=at(date(2026, 3, 7), 9))
    c = reload(c)
    assert c.owner is None and c.released_at == at(date(2026, 3, 4), 1)
    event = OwnershipEvent.objects.get(customer=c, action=Action.RELEASED)
    assert event.at == at(date(2026, 3, 4), 1)
    assert MissingReleaseNote.objects.get(customer=c).released_at == at(date(2026, 3, 4), 1)
    assert selectors.cooloff_ends(customer=c, user=owner) == date(2026, 4, 3)
    with pytest.raises(services.ClaimRefused, match="2026-04-03"):
        services.customer_claim(customer=c, user=owner, now=at(date(2026, 4, 2)))
    services.customer_claim(customer=c, user=owner, now=at(date(2026, 4, 3)))
    assert reload(c).owner == owner


@pytest.mark.parametrize("run_at", [at(date(2026, 3, 4), 1), at(date(2026, 3, 4), 15)])
def test_r5_8_a_run_on_its_as_of_day_releases_when_it_runs(owner, run_at):
    c = owned_customer(owner, since=date(2026, 1, 3))
    nightly.nightly_release(as_of=date(2026, 3, 4), now=run_at)
    assert reload(c).released_at == run_at
    assert OwnershipEvent.objects.get(customer=c).at == run_at


def test_r5_8_a_late_release_never_predates_the_customers_history(owner, manager):
    """An overdue deadline (1 Mar) extended on 6 Mar to 3 Mar is still due as of 4 Mar: the late run
    releases it at the extension's moment, not before it, so the history keeps its order."""
    c = owned_customer(owner, since=date(2026, 1, 1))
    services.customer_extend_deadline(
        customer=c, manager=manager, new_deadline=date(2026, 3, 3), reason="补录", now=at(date(2026, 3, 6), 9)
    )
    nightly.nightly_release(as_of=date(2026, 3, 4), now=at(date(2026, 3, 7), 9))
    c = reload(c)
    assert c.owner is None and c.released_at == at(date(2026, 3, 6), 9)
    actions = list(OwnershipEvent.objects.filter(customer=c).order_by("at", "id").values_list("action", flat=True))
    assert actions == [Action.EXTENDED, Action.RELEASED]
