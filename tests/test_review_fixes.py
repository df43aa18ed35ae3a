"""Defects found by the second session's reviews of the landed apps, each pinned by a test:
amounts that would format a billion digits (R8), a NUL byte in a free-text note, a first order by
a salesperson who left (R5.3), plans naming customers that changed hands (R3.1), and file data
(R6.4) shown beyond the file's readers (problem reasons, pool phones for finance, contacts in an
old visit's edit form)."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from crm.dates import local_today
from customers.models import Basis, Customer
from followups import services as followups_services
from notifications.models import Notification
from ownership.services import customer_mark_problem
from sales import services as sales_services
from sales.forms import PaymentForm

from .factories import ContactFactory
from .helpers import owned_customer, pool_customer, reload
from .sales_helpers import confirm, record

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text", ["1e999999999", "9" * 40, "1E30"])
def test_r8_an_absurd_amount_is_refused_without_formatting_it(text):
    form = PaymentForm({"amount": text, "received_on": local_today().isoformat()})
    assert not form.is_valid()
    message = " ".join(form.errors["amount"])
    assert len(message) < 300


def test_a_nul_byte_in_a_hold_release_note_is_dropped(client_for, manager, owner):
    hold = sales_services.commission_hold_set(salesperson=owner, user=manager, reason="交接中")
    response = client_for(manager).post(reverse("sales:hold_release", args=[hold.pk]), {"note": "完成\x00了"})
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.released_at is not None and hold.release_note == "完成了"


def test_r5_3_a_first_order_by_a_salesperson_who_left_does_not_move_the_owner(owner, teammate, manager, finance):
    day = date(2026, 3, 2)
    customer = owned_customer(owner, since=day - timedelta(days=10))
    order = record(customer, owner, day=day)
    Customer.objects.filter(pk=customer.pk).update(owner=teammate, owner_basis=Basis.ASSIGNED)
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    confirm(order, finance, day=day + timedelta(days=1))
    customer = reload(customer)
    assert customer.owner == teammate and customer.owner_basis == Basis.ASSIGNED
    assert customer.last_sale_on == day + timedelta(days=1)
    assert Notification.objects.filter(recipient=manager, kind="first_order_unowned").count() == 1


def test_r3_1_a_planned_customer_that_changed_hands_stays_in_the_plan(owner, teammate):
    today = local_today()
    mine = owned_customer(owner, since=today - timedelta(days=5))
    other = owned_customer(owner, since=today - timedelta(days=5))
    month = today.replace(day=1)
    followups_services.plan_set(
        salesperson=owner, month=month, target_count=4, customer_ids=[mine.pk, other.pk], user=owner
    )
    Customer.objects.filter(pk=other.pk).update(owner=teammate)
    plan = followups_services.plan_set(
        salesperson=owner, month=month, target_count=6, customer_ids=[mine.pk, other.pk], user=owner
    )
    assert plan.target_count == 6 and set(plan.customers.values_list("pk", flat=True)) == {mine.pk, other.pk}


def test_r6_4_an_old_visit_does_not_show_the_new_owners_contacts(client_for, owner, teammate):
    customer = owned_customer(owner, since=local_today() - timedelta(days=5))
    visit = followups_services.visit_record(
        customer=customer,
        user=owner,
        data=followups_services.VisitInput(
            visited_at=local_today_noon() - timedelta(days=1), channel="phone", discussed="询价"
        ),
    )
    Customer.objects.filter(pk=customer.pk).update(owner=teammate)
    ContactFactory(customer=customer, name="新联系人SECRET")
    page = client_for(owner).get(reverse("followups:visit_edit", args=[visit.pk])).content.decode()
    assert "新联系人SECRET" not in page


def local_today_noon():
    from django.utils import timezone

    return timezone.now().replace(microsecond=0)


def test_r6_4_problem_reason_is_for_the_file_only(client_for, owner, teammate, manager, department):
    customer = pool_customer(department)
    customer_mark_problem(customer=customer, user=manager, reason="拖欠货款SECRET")
    assert (
        "拖欠货款SECRET"
        not in client_for(teammate).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    )
    assert "拖欠货款SECRET" in client_for(manager).get(reverse("customers:detail", args=[customer.pk])).content.decode()


def test_r6_4_finance_sees_pool_phones_masked(client_for, finance, manager, department):
    from customers.models import Contact
    from customers.selectors import mask_phone

    customer = pool_customer(department)
    Contact.objects.filter(customer=customer).update(is_primary=False)
    ContactFactory(customer=customer, phone="13812345678", is_primary=True)
    page = client_for(finance).get(reverse("ownership:pool")).content.decode()
    assert "13812345678" not in page and mask_phone("13812345678") in page
    assert "13812345678" in client_for(manager).get(reverse("ownership:pool")).content.decode()
