"""Handover pages (R7.1, R7.2): opening from the list and from a customer's page, the manager's
bulk assignment ("all matching"), the leaver's notes one after another, the receiver's
confirmations, completion, the customer page's "in handover to X since D", the report (print
stylesheet, Excel export, filters) and the navigation. Every "pick a salesperson" list of every
app skips a deactivated account."""

import io
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from accounts import roles
from handovers import services
from handovers.models import Handover, HandoverItem, State

from .factories import UserFactory
from .handover_helpers import NOTE, items_of, open_resignation, open_transfer, send_and_confirm, write_all_notes
from .helpers import SHANGHAI, owned_customer, reload

pytestmark = pytest.mark.django_db

TODAY = date.today()


def zh(text: str, **values) -> str:
    """The Chinese page text of a message (called with a variable, so makemessages leaves it)."""
    with translation.override("zh-hans"):
        message = translation.gettext(text)
    return message % values if values else message


@pytest.fixture
def bystander(department):
    return UserFactory(username="zhaoyun", display_name="赵云", role=roles.SALESPERSON, department=department)


@pytest.fixture
def book(owner):
    return [
        owned_customer(owner, since=TODAY - timedelta(days=20), name=f"杭州恒通第{i}贸易有限公司") for i in range(6)
    ]


def test_manager_opens_a_resignation_in_two_steps(client_for, manager, owner, book):
    client = client_for(manager)
    page = client.get(reverse("handovers:new"))
    assert page.status_code == 200 and 'name="leaver"' in page.content.decode()
    url = reverse("handovers:new") + f"?leaver={owner.pk}&kind=resignation"
    step2 = client.get(url).content.decode()
    assert "6" in step2 and 'id="handover-open"' in step2
    response = client.post(url, {"note": "月底离职"})
    h = Handover.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("handovers:detail", args=[h.pk])
    assert (h.kind, h.leaver, h.note, HandoverItem.objects.filter(handover=h).count()) == (
        "resignation",
        owner,
        "月底离职",
        6,
    )


def test_manager_opens_a_transfer_from_the_customer_page(client_for, manager, owner, teammate, book):
    client = client_for(manager)
    customer_page = client.get(reverse("customers:detail", args=[book[0].pk])).content.decode()
    start = reverse("handovers:new") + f"?customer={book[0].pk}"
    assert start.replace("&", "&amp;") in customer_page or start in customer_page
    form = client.get(start).content.decode()
    assert f'value="{book[0].pk}"' in form and "checked" in form
    response = client.post(
        start, {"reason": "customer_request", "customers": [book[0].pk], "receiver": teammate.pk, "note": "客户要求"}
    )
    assert response.status_code == 302
    h = Handover.objects.get()
    assert (h.kind, h.reason) == ("transfer", "customer_request")
    assert items_of(h)[0].receiver == teammate


def test_a_transfer_without_customers_or_reason_shows_the_form_again(client_for, manager, owner, book):
    url = reverse("handovers:new") + f"?leaver={owner.pk}&kind=transfer"
    response = client_for(manager).post(url, {"reason": "", "customers": []})
    assert response.status_code == 200 and not Handover.objects.exists()


@pytest.mark.parametrize("who", ["owner", "finance"])
def test_only_managers_open_handovers(client_for, request, who):
    assert client_for(request.getfixturevalue(who)).get(reverse("handovers:new")).status_code == 403


def test_customer_page_says_in_handover_to_whom_since_when(client_for, manager, owner, teammate, book):
    h = open_transfer(owner, manager, [book[0]], day=TODAY, receiver=teammate)
    page = client_for(owner).get(reverse("customers:detail", args=[book[0].pk])).content.decode()
    expected = zh(
        "In handover to %(who)s since %(date)s", who=teammate, date=h.opened_at.astimezone(SHANGHAI).date().isoformat()
    )
    assert expected in page
    # The owner's release button is gone while the handover holds the customer.
    assert reverse("ownership:release", args=[book[0].pk]) not in page


def test_bulk_assignment_sends_every_item_the_filter_finds(client_for, manager, owner, teammate, book):
    h = open_resignation(owner, manager, day=TODAY)
    items = items_of(h)
    for item in items[:2]:
        services.handover_write_note(item=item, user=owner, data=NOTE)
    client = client_for(manager)
    page = client.get(reverse("handovers:detail", args=[h.pk]) + "?status=no_note").content.decode()
    assert 'name="all_matching"' in page and "4" in page
    response = client.post(
        reverse("handovers:send", args=[h.pk]),
        {"all_matching": "1", "status": "no_note", "q": "", "receiver": "", "destination": teammate.pk},
    )
    assert response.status_code == 302 and "status=no_note" in response["Location"]
    sent = {i.pk for i in items_of(h) if i.receiver_id == teammate.pk}
    assert sent == {i.pk for i in items[2:]}
    # Ticked items to the pool.
    client.post(reverse("handovers:send", args=[h.pk]), {"items": [items[0].pk], "destination": "pool"})
    assert reload(items[0]).to_pool


def test_send_to_someone_outside_the_list_is_refused_with_a_message(client_for, manager, owner, outsider, book):
    h = open_resignation(owner, manager, day=TODAY)
    response = client_for(manager).post(
        reverse("handovers:send", args=[h.pk]), {"items": [items_of(h)[0].pk], "destination": outsider.pk}, follow=True
    )
    assert response.status_code == 200
    assert zh("Choose a receiving salesperson of the department, or the pool.") in response.content.decode()
    assert not reload(items_of(h)[0]).is_sent


def test_the_leaver_writes_notes_one_after_another(client_for, manager, owner, book):
    h = open_resignation(owner, manager, day=TODAY)
    items = sorted(items_of(h), key=lambda i: i.customer.name)
    client = client_for(owner)
    first = reverse("handovers:item", args=[h.pk, items[0].pk])
    assert 'id="note-form"' in client.get(first).content.decode()
    data = {"situation": NOTE.situation, "key_contacts": NOTE.key_contacts, "stage": NOTE.stage}
    response = client.post(first, data)
    assert response.status_code == 302
    assert response["Location"] == reverse("handovers:item", args=[h.pk, items[1].pk])
    assert reload(items[0]).situation == NOTE.situation
    invalid = client.post(reverse("handovers:item", args=[h.pk, items[1].pk]), {"situation": ""})
    assert invalid.status_code == 200 and reload(items[1]).note_written_at is None


def test_receiver_sees_only_its_items_and_confirms_all_at_once(client_for, manager, owner, teammate, bystander, book):
    h = open_resignation(owner, manager, day=TODAY)
    items = items_of(h)
    services.handover_send(handover=h, manager=manager, item_ids=[i.pk for i in items[:3]], receiver=teammate)
    client = client_for(teammate)
    page = client.get(reverse("handovers:detail", args=[h.pk])).content.decode()
    assert 'id="confirm-all"' in page
    assert items[0].customer.name in page and items[4].customer.name not in page
    assert client.get(reverse("handovers:item", args=[h.pk, items[4].pk])).status_code == 404
    assert client.get(reverse("handovers:item", args=[h.pk, items[0].pk])).status_code == 200
    # The receiver does not open the customer's file before completion (R6.4).
    assert client.get(reverse("customers:detail", args=[items[0].customer_id])).status_code == 404
    response = client.post(reverse("handovers:confirm", args=[h.pk]), {"all": "1"})
    assert response.status_code == 302
    assert all(reload(i).confirmed_by == teammate for i in items[:3])
    other = client_for(bystander)
    assert other.get(reverse("handovers:detail", args=[h.pk])).status_code == 404
    assert other.get(reverse("handovers:item", args=[h.pk, items[0].pk])).status_code == 404


def test_manager_completes_and_the_leaver_is_logged_out(client_for, manager, owner, teammate, book):
    h = open_resignation(owner, manager, day=TODAY)
    write_all_notes(h, day=TODAY)
    send_and_confirm(h, manager, teammate, day=TODAY)
    leaver_client = client_for(owner)
    assert leaver_client.get(reverse("handovers:detail", args=[h.pk])).status_code == 200
    response = client_for(manager).post(reverse("handovers:complete", args=[h.pk]), follow=True)
    assert response.status_code == 200
    assert reload(h).state == State.COMPLETED and not reload(owner).is_active
    assert leaver_client.get(reverse("handovers:detail", args=[h.pk])).status_code == 302


def test_completing_too_early_says_why(client_for, manager, owner, book):
    h = open_resignation(owner, manager, day=TODAY)
    response = client_for(manager).post(reverse("handovers:complete", args=[h.pk]), follow=True)
    assert response.status_code == 200 and reload(h).state == State.OPEN
    assert "6" in response.content.decode()


def test_cancel_page_warns_of_passed_deadlines(client_for, manager, owner):
    due = owned_customer(owner, since=TODAY - timedelta(days=70))
    h = open_transfer(owner, manager, [due], day=TODAY)
    page = client_for(manager).get(reverse("handovers:cancel", args=[h.pk])).content.decode()
    assert "1" in page
    response = client_for(manager).post(reverse("handovers:cancel", args=[h.pk]), {"reason": "留任"})
    assert response.status_code == 302 and reload(h).state == State.CANCELLED


def test_report_lists_items_notes_and_confirmations_and_prints(client_for, manager, owner, teammate, book):
    h = open_resignation(owner, manager, day=TODAY)
    write_all_notes(h, day=TODAY)
    send_and_confirm(h, manager, teammate, day=TODAY)
    page = client_for(manager).get(reverse("handovers:report")).content.decode()
    assert NOTE.situation in page and book[0].name in page and str(teammate) in page
    assert "handovers/handovers.css" in page and "data-print" in page
    # Filters: state and person.
    assert (
        NOTE.situation not in client_for(manager).get(reverse("handovers:report") + "?state=completed").content.decode()
    )
    other = UserFactory(role=roles.SALESPERSON, department=owner.department)
    page = client_for(manager).get(reverse("handovers:report") + f"?person={other.pk}").content.decode()
    assert book[0].name not in page
    page = client_for(manager).get(reverse("handovers:report") + f"?person={teammate.pk}").content.decode()
    assert book[0].name in page
    future = (TODAY + timedelta(days=1)).isoformat()
    assert (
        book[0].name
        not in client_for(manager).get(reverse("handovers:report") + f"?opened_from={future}").content.decode()
    )


def test_report_export_is_a_formula_safe_workbook(client_for, manager, owner, teammate, book):
    h = open_transfer(owner, manager, [book[0]], day=TODAY, receiver=teammate)
    services.handover_write_note(
        item=items_of(h)[0], user=owner, data=services.NoteInput('=HYPERLINK("http://x")', "钱经理", "已报价")
    )
    response = client_for(manager).get(reverse("handovers:report_export") + "?state=open")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2
    assert book[0].name in rows[1] and str(teammate) in rows[1]
    # The note as typed, in a text cell with quotePrefix: never a formula (crm.spreadsheets).
    cell = next(c for c in next(sheet.iter_rows(min_row=2, max_row=2)) if c.value == '=HYPERLINK("http://x")')
    assert cell.data_type == "s" and cell.quotePrefix


@pytest.mark.parametrize("who", ["owner", "teammate", "finance"])
def test_report_and_export_are_for_managers(client_for, request, who):
    client = client_for(request.getfixturevalue(who))
    assert client.get(reverse("handovers:report")).status_code == 403
    assert client.get(reverse("handovers:report_export")).status_code == 403


def test_navigation_entry_for_managers_and_the_people_involved(client_for, manager, owner, teammate, bystander, book):
    h = open_resignation(owner, manager, day=TODAY)
    services.handover_send(handover=h, manager=manager, item_ids=[items_of(h)[0].pk], receiver=teammate)
    for user in (manager, owner, teammate):
        assert 'id="nav-handovers"' in client_for(user).get("/", follow=True).content.decode(), user
    assert 'id="nav-handovers"' not in client_for(bystander).get("/", follow=True).content.decode()
    lst = client_for(teammate).get(reverse("handovers:list")).content.decode()
    assert f"#{h.pk}" in lst


def test_commission_statement_shows_the_handover_hold_to_finance(client_for, manager, owner, finance, book):
    h = open_resignation(owner, manager, day=TODAY)
    page = client_for(finance).get(reverse("sales:commission")).content.decode()
    expected = zh(
        "Handover #%(id)d (%(reason)s): %(done)d of %(total)d customers confirmed",
        id=h.pk,
        reason=zh("Resignation"),
        done=0,
        total=6,
    )
    assert expected in page
    holds = client_for(manager).get(reverse("sales:holds")).content.decode()
    assert expected in holds and reverse("sales:hold_release", args=[h.hold_id]) not in holds


def test_every_pick_a_salesperson_list_skips_a_deactivated_account(
    client_for, manager, owner, teammate, book, admin_user
):
    """R7.1: after its resignation a leaver is offered nowhere: assignment, customer-list owner
    filter, finance's queue filter and hold form, team plans, service helpers and referrals,
    information-report task assignees, handover receivers and leavers."""
    from accounts.selectors import salespeople_visible_to
    from collection import services as collection_services
    from collection.selectors import report_assignees
    from followups.selectors import team_of
    from handovers.selectors import leavers_for, receivers_for
    from sales.selectors import salespeople_for_filters
    from service import services as service_services
    from service.selectors import helper_candidates

    h = open_resignation(owner, manager, day=TODAY)
    send_and_confirm(h, manager, teammate, day=TODAY)
    services.handover_complete(handover=h, manager=manager)
    owner.refresh_from_db()
    assert not owner.is_active
    for user in (manager, admin_user):
        assert owner not in salespeople_visible_to(user)
        assert owner not in salespeople_for_filters(user)
        assert owner not in team_of(user)
        assert owner not in leavers_for(user)
        assert owner not in receivers_for(user=user, department_id=owner.department_id, leaver_id=teammate.pk)
    req = service_services.request_log(
        user=teammate, data=service_services.RequestInput(kind="call", channel="phone", text="询价"), customer=book[0]
    )
    assert owner not in helper_candidates(user=teammate, request=req)
    report = collection_services.report_create(user=manager, data={"title": "行业", "category": "食品"})
    assert owner not in report_assignees(report)
    # Pages: the owner filter, the hold form, finance's queue filter, the assignment form.
    marker = f'value="{owner.pk}"'
    assert marker not in client_for(manager).get(reverse("customers:list")).content.decode()
    assert marker not in client_for(manager).get(reverse("sales:holds")).content.decode()
    finance = UserFactory(role=roles.FINANCE, department=None)
    assert marker not in client_for(finance).get(reverse("sales:queue")).content.decode()
    from ownership.forms import AssignForm
    from tests.helpers import pool_customer

    pooled = pool_customer(owner.department)
    assert owner not in AssignForm(user=manager, customer=pooled).fields["to_user"].queryset
