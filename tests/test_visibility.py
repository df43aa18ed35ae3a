"""R6.4: one rule decides who sees which customer; the pool's own selector never widens it."""

from datetime import date

import pytest

from customers.selectors import customers_visible_to
from ownership.selectors import pool_visible_to

from .helpers import owned_customer, pool_customer

pytestmark = pytest.mark.django_db

ROLES = ["owner", "teammate", "outsider", "manager", "finance", "admin_user", "probation"]


@pytest.fixture
def world(owner, teammate, outsider, department, other_department):
    return {
        "mine": owned_customer(owner, since=date(2026, 11, 1)),
        "theirs": owned_customer(teammate, since=date(2026, 11, 1)),
        "pool": pool_customer(department),
        "other_pool": pool_customer(other_department),
        "other_owned": owned_customer(outsider, since=date(2026, 11, 1)),
    }


@pytest.mark.parametrize("role", ROLES)
def test_r6_4_pool_is_a_subset_of_what_the_user_may_see(request, world, role):
    user = request.getfixturevalue(role)
    visible = set(customers_visible_to(user).values_list("pk", flat=True))
    pool = set(pool_visible_to(user).values_list("pk", flat=True))
    assert pool <= visible
    assert all(c.owner_id is None for c in pool_visible_to(user))


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("owner", {"mine", "pool"}),
        ("teammate", {"theirs", "pool"}),
        ("outsider", {"other_pool", "other_owned"}),
        ("manager", {"mine", "theirs", "pool"}),
        ("finance", {"mine", "theirs", "pool", "other_pool", "other_owned"}),
        ("admin_user", {"mine", "theirs", "pool", "other_pool", "other_owned"}),
    ],
)
def test_r6_4_who_sees_which_customer(request, world, role, expected):
    user = request.getfixturevalue(role)
    names = {key for key, c in world.items() if customers_visible_to(user).filter(pk=c.pk).exists()}
    assert names == expected


def test_inactive_users_see_nothing(owner, world):
    owner.is_active = False
    owner.save()
    assert not customers_visible_to(owner).exists()
    assert not pool_visible_to(owner).exists()
