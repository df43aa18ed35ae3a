"""R2 tiers: boundaries, long-term flag, bad credit (R2.3), the moving window on the nightly run
(R2.1), settings (R2.2) and the tier history."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from customers.models import CreditStatus, Tier
from ownership.nightly import nightly_release
from sales import services
from sales.models import SalesSettings, TierCause, TierChange

from .helpers import at, owned_customer, reload
from .sales_helpers import confirm, record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in their English source (the default language is Chinese)."""
    with translation.override("en"):
        yield


DAY = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("amount", "long_term", "expected"),
    [
        ("29999.99", False, Tier.C),
        ("30000.00", False, Tier.B),
        ("49999.99", False, Tier.B),
        ("50000.00", False, Tier.A),
        ("99999.99", False, Tier.A),
        ("100000.00", False, Tier.SPECIAL_VIP),
        ("100000.00", True, Tier.VIP),
        ("99999.99", True, Tier.A),
        ("29999.99", True, Tier.C),
        ("30000.00", True, Tier.B),
    ],
)
def test_r2_tier_boundaries_after_confirmation(owner, finance, amount, long_term, expected):
    c = owned_customer(owner, since=date(2026, 1, 5), is_long_term=long_term)
    order = record(c, owner, amount, day=DAY)
    result = confirm(order, finance, "1.00", day=DAY)  # the first payment confirms the whole order
    c = reload(c)
    assert c.tier == expected
    assert c.tier_amount == Decimal(amount)
    if expected != Tier.C:
        assert result.tier_change is not None
        change = TierChange.objects.get(customer=c)
        assert (change.old_tier, change.new_tier, change.cause) == (Tier.C, expected, TierCause.PAYMENT_CONFIRMED)
    else:
        assert not TierChange.objects.filter(customer=c).exists()


def test_r2_amount_is_the_sum_of_confirmed_orders_only(owner, finance):
    c = owned_customer(owner, since=date(2026, 1, 5))
    first = record(c, owner, "20000.00", day=DAY)
    record(c, owner, "90000.00", day=DAY)  # never confirmed: does not count
    confirm(first, finance, "5000.00", day=DAY)
    second = record(c, owner, "10000.00", day=DAY)
    confirm(second, finance, day=DAY)
    c = reload(c)
    assert c.tier_amount == Decimal("30000.00")
    assert c.tier == Tier.B


def test_r2_3_bad_credit_shows_as_problem_but_keeps_the_computed_tier(owner, finance):
    c = owned_customer(owner, since=date(2026, 1, 5), credit_status=CreditStatus.BAD)
    confirm(record(c, owner, "50000.00", day=DAY), finance, day=DAY)
    c = reload(c)
    assert c.tier == Tier.A
    assert c.shows_as_problem


def test_r2_3_problem_badge_replaces_the_tier_on_the_customer_page(owner, finance, client_for):
    c = owned_customer(owner, since=date(2026, 1, 5), credit_status=CreditStatus.BAD)
    confirm(record(c, owner, "50000.00", day=DAY), finance, day=DAY)
    html = client_for(owner).get(f"/customers/{c.pk}/").content.decode()
    assert "Problem customer" in html or "问题客户" in html


@pytest.mark.parametrize(
    ("run_day", "expected_tier", "expected_amount"),
    [
        (date(2027, 3, 9), Tier.A, "50000.00"),  # the day before: the sale is still in the window
        (date(2027, 3, 10), Tier.C, "0"),  # 12 months later to the day: it has left
        (date(2027, 3, 11), Tier.C, "0"),  # the day after (a missed night caught up)
    ],
)
def test_r2_1_nightly_run_lowers_the_tier_when_a_sale_leaves_the_window(
    owner, finance, run_day, expected_tier, expected_amount
):
    c = owned_customer(owner, since=date(2026, 1, 5), is_long_term=True)
    confirm(record(c, owner, "50000.00", day=DAY), finance, day=DAY)
    assert reload(c).tier == Tier.A
    nightly_release(as_of=date(2026, 3, 11), now=at(date(2026, 3, 11), 1))  # an ordinary night
    assert reload(c).tier == Tier.A
    run = nightly_release(as_of=run_day, now=at(run_day, 1)).run
    c = reload(c)
    assert (c.tier, c.tier_amount) == (expected_tier, Decimal(expected_amount))
    assert run.tiers_changed == (1 if expected_tier == Tier.C else 0)
    if expected_tier == Tier.C:
        change = TierChange.objects.filter(customer=c).first()
        assert (change.old_tier, change.new_tier, change.cause) == (Tier.A, Tier.C, TierCause.WINDOW)
        # Idempotent: a second run the same day changes nothing.
        assert nightly_release(as_of=run_day, now=at(run_day, 2)).run.tiers_changed == 0
        assert TierChange.objects.filter(customer=c).count() == 2


def test_r2_1_window_drop_keeps_the_sales_still_inside(owner, finance):
    c = owned_customer(owner, since=date(2026, 1, 5), is_long_term=True)
    confirm(record(c, owner, "60000.00", day=DAY), finance, day=DAY)
    later = date(2026, 9, 1)
    confirm(record(c, owner, "45000.00", day=later), finance, day=later)
    assert reload(c).tier == Tier.VIP
    nightly_release(as_of=date(2027, 3, 10), now=at(date(2027, 3, 10), 1))
    c = reload(c)
    assert (c.tier, c.tier_amount) == (Tier.B, Decimal("45000.00"))


def test_r2_1_nightly_dry_run_counts_without_writing(owner, finance):
    c = owned_customer(owner, since=date(2026, 1, 5))
    confirm(record(c, owner, "50000.00", day=DAY), finance, day=DAY)
    nightly_release(as_of=date(2026, 3, 11), now=at(date(2026, 3, 11), 1))
    run = nightly_release(as_of=date(2027, 3, 10), dry_run=True, now=at(date(2027, 3, 10), 1)).run
    assert run.tiers_changed == 1
    assert reload(c).tier == Tier.A


def test_r2_long_term_flag_change_is_picked_up_by_the_nightly_run(owner, finance):
    c = owned_customer(owner, since=date(2026, 1, 5), is_long_term=False)
    confirm(record(c, owner, "120000.00", day=DAY), finance, day=DAY)
    assert reload(c).tier == Tier.SPECIAL_VIP
    type(c).objects.filter(pk=c.pk).update(is_long_term=True)  # the customers app's edit
    nightly_release(as_of=date(2026, 3, 11), now=at(date(2026, 3, 11), 1))
    assert reload(c).tier == Tier.VIP
    assert TierChange.objects.filter(customer=c).first().cause == TierCause.LONG_TERM


def test_r2_2_settings_change_recomputes_the_department(owner, finance, manager, department):
    c = owned_customer(owner, since=date(2026, 1, 5))
    confirm(record(c, owner, "40000.00", day=DAY), finance, day=DAY)
    assert reload(c).tier == Tier.B
    services.sales_settings_update(
        department=department,
        user=manager,
        data={"a_threshold": Decimal("40000.00"), "b_threshold": Decimal("20000.00")},
        now=at(DAY, 16),
    )
    assert reload(c).tier == Tier.A
    assert TierChange.objects.filter(customer=c).first().cause == TierCause.SETTINGS


@pytest.mark.parametrize(
    "data",
    [
        {"a_threshold": Decimal("200000.00")},  # A above VIP
        {"b_threshold": Decimal("0")},
        {"window_months": 0},
        {"window_months": 61},
        {"commission_rate": Decimal("0.9")},
        {"commission_rate": Decimal("-0.01")},
    ],
)
def test_r2_2_invalid_settings_are_refused(manager, department, data):
    with pytest.raises(services.DomainError):
        services.sales_settings_update(department=department, user=manager, data=data)
    assert not SalesSettings.objects.filter(department=department).exclude(a_threshold=50000).exists()


def test_r2_2_only_the_departments_manager_or_an_admin_changes_settings(owner, finance, department, other_department):
    from accounts import roles

    from .factories import UserFactory

    other_manager = UserFactory(role=roles.MANAGER, department=other_department)
    for user in (owner, finance, other_manager):
        with pytest.raises(services.PermissionDenied):
            services.sales_settings_update(department=department, user=user, data={"window_months": 6})
