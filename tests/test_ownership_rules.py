"""Rule defects of issue 11 that need no second connection: R4.1 in the service layer, R5.8 cool-off
shown as enforced and counted from the as-of day of a catch-up run.

(R8.2 reversals: tests/test_ownership_reversal.py; R5.5 bad credit: tests/test_problem_credit.py;
races: tests/test_ownership_rules_pg.py and tests/test_soak_pg.py.)
"""

from datetime import date

import pytest
from django.utils import translation

from collection.models import ImportBatch
from customers.models import Customer
from customers.services import customer_create, customer_update, customers_bulk_create
from ownership import services
from ownership.models import OwnershipEvent

from .factories import make_credit_code
from .helpers import at, owned_customer

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
