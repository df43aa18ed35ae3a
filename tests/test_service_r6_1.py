"""R6.1: anyone who receives a complaint about any customer logs it against that customer.

First-inquiry responsibility is about exactly this case: whoever takes the call is responsible for
the request, whoever owns the customer. The logger finds the company's customer in the request
form (name, whole phone number, whole credit code), sees only its name, department and owner
(R6.4), links the request to it and stays responsible; the owner is told and sees the request on
the customer's file; the logger never sees the file."""

from datetime import date, timedelta

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from customers.selectors import customers_to_log_against
from notifications.models import Notification
from service import selectors, services
from service.models import RequestStatus, ServiceRequest
from service.views import PICK_SALT, pick_token

from .factories import ContactFactory, CustomerFactory
from .helpers import at, owned_customer, pool_customer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture(autouse=True)
def _still_clock(time_machine):
    """A pick token carries the second it was signed in: tokens made by the test and by the page
    are compared within one still second (a tick between them made this test flaky)."""
    time_machine.move_to(timezone.now(), tick=False)


DAY = date(2026, 3, 10)
PHONE = "13811112222"


@pytest.fixture
def theirs(owner):
    """The owner's customer, which its colleagues cannot see."""
    c = owned_customer(
        owner, since=DAY - timedelta(days=10), name="宁波德润精密机械有限公司", notes="内部备注：价格底线"
    )
    ContactFactory(customer=c, name="钱经理", phone=PHONE, email="qian@derun.cn")
    return c


def log(user, customer, *, text="投诉：交货延迟两周"):
    return services.request_log(
        user=user,
        data=services.RequestInput(kind="complaint", channel="phone", text=text),
        customer=customer,
        now=at(DAY, 10),
    )


# --- The service ---------------------------------------------------------------------------------


def test_r6_1_a_colleague_logs_a_complaint_against_the_owners_customer(owner, teammate, theirs, department):
    req = log(teammate, theirs)
    assert (req.customer, req.responsible, req.department, req.status) == (
        theirs,
        teammate,
        department,
        RequestStatus.OPEN,
    )
    # The owner is told, and sees the request; the logger sees its own request.
    note = Notification.objects.get(recipient=owner, kind="service_about_customer")
    assert "宁波德润精密机械有限公司" in note.text and str(teammate) in note.text
    assert note.url == reverse("service:detail", args=[req.pk])
    assert selectors.can_see(owner, req) and selectors.can_see(teammate, req)
    assert not Notification.objects.filter(recipient=teammate, kind="service_about_customer").exists()


def test_r6_1_anyone_of_the_company_logs_against_any_customer(owner, outsider, finance, manager, theirs):
    """Another department's salesperson and finance too; the customer's managers see it."""
    for user in (outsider, finance):
        req = log(user, theirs)
        assert req.responsible == user and req.customer == theirs
        assert selectors.can_see(manager, req) and selectors.can_see(owner, req)
    assert Notification.objects.filter(recipient=owner, kind="service_about_customer").count() == 2


def test_r6_1_the_owner_logging_its_own_customer_is_not_told(owner, theirs):
    log(owner, theirs)
    assert not Notification.objects.filter(kind="service_about_customer").exists()


def test_r6_1_a_pool_customer_has_no_one_to_tell(teammate, department):
    pooled = pool_customer(department, name="苏州嘉禾食品有限公司")
    req = log(teammate, pooled)
    assert req.customer == pooled and not Notification.objects.filter(kind="service_about_customer").exists()


# --- The search (a selector) -----------------------------------------------------------------------


def test_r6_1_search_finds_the_companys_customer_by_name_whole_phone_or_whole_code(
    teammate, outsider, finance, theirs, owner
):
    for user in (teammate, outsider, finance):
        for query in ("德润", "宁波德润精密机械有限公司", PHONE, "138-1111-2222", theirs.credit_code):
            briefs, _more = customers_to_log_against(user=user, query=query)
            assert [b.pk for b in briefs] == [theirs.pk], (user, query)
            brief = briefs[0]
            assert (brief.name, brief.department, brief.owner) == (theirs.name, "销售二部", str(owner))


def test_r6_4_search_matches_no_part_of_a_phone_or_code_and_shows_nothing_else(teammate, theirs):
    for query in (PHONE[:7], PHONE[:10], PHONE[-4:], theirs.credit_code[:17], theirs.credit_code[:6], "钱经理", "底线"):
        assert customers_to_log_against(user=teammate, query=query) == ([], False), query
    brief = customers_to_log_against(user=teammate, query="德润")[0][0]
    assert set(vars(brief)) == {"pk", "name", "department", "owner"}


def test_r6_1_search_ranks_the_exact_name_first_and_caps_the_list(teammate, department):
    for i in range(12):
        CustomerFactory(department=department, name=f"杭州德润{i:02d}贸易有限公司")
    exact = CustomerFactory(department=department, name="德润")
    briefs, more = customers_to_log_against(user=teammate, query="德润")
    assert briefs[0].pk == exact.pk and len(briefs) == 10 and more


def test_r6_1_search_needs_a_role(db, theirs):
    from .factories import UserFactory

    nobody = UserFactory(username="norole", department=None)
    assert customers_to_log_against(user=nobody, query="德润") == ([], False)


# --- The pages -------------------------------------------------------------------------------------


def test_r6_1_the_form_picks_a_colleagues_customer_and_logs_against_it(client_for, owner, teammate, theirs):
    client = client_for(teammate)
    page = client.get(reverse("service:new"), {"q": "德润"}).content.decode()
    token = pick_token(teammate, theirs.pk)
    assert f'value="{token}"' in page and theirs.name in page and str(owner) in page
    for secret in (PHONE, "qian@derun.cn", "钱经理", theirs.credit_code, "价格底线"):
        assert secret not in page, secret
    # The htmx search answers the same choices alone.
    partial = client.get(reverse("service:customer_pick"), {"q": PHONE}, HTTP_HX_REQUEST="true").content.decode()
    assert f'value="{token}"' in partial and "<html" not in partial and PHONE not in partial

    response = client.post(
        reverse("service:new"), {"customer": token, "kind": "complaint", "channel": "phone", "text": "投诉：交货延迟"}
    )
    req = ServiceRequest.objects.get()
    assert response.status_code == 302 and response.url == reverse("service:detail", args=[req.pk])
    assert (req.customer, req.responsible) == (theirs, teammate)

    # The logger sees its request with the customer's name, never the file.
    detail = client.get(reverse("service:detail", args=[req.pk])).content.decode()
    assert theirs.name in detail and reverse("customers:detail", args=[theirs.pk]) not in detail
    assert PHONE not in detail and "价格底线" not in detail
    assert client.get(reverse("customers:detail", args=[theirs.pk])).status_code == 404
    # The owner sees it on the customer's file, and is told.
    file_page = client_for(owner).get(reverse("customers:detail", args=[theirs.pk])).content.decode()
    assert reverse("service:detail", args=[req.pk]) in file_page
    assert Notification.objects.filter(recipient=owner, kind="service_about_customer").exists()


def test_r6_4_a_plain_id_or_a_forged_token_does_not_open_a_colleagues_customer(client_for, owner, teammate, theirs):
    """Ids are not accepted for customers the user cannot see (they would list the company's
    customers one id after another); a token is signed for its user."""
    client = client_for(teammate)
    data = {"kind": "complaint", "channel": "phone", "text": "投诉"}
    assert client.get(reverse("service:new"), {"customer": theirs.pk}).status_code == 404
    assert client.post(reverse("service:new"), {**data, "customer": theirs.pk}).status_code == 404
    forged = signing.dumps(theirs.pk, salt="something else")
    assert client.post(reverse("service:new"), {**data, "customer": forged}).status_code == 404
    someone_elses = pick_token(owner, theirs.pk)
    assert client.post(reverse("service:new"), {**data, "customer": someone_elses}).status_code == 404
    assert client.get(reverse("service:new"), {"customer": forged}).status_code == 404
    assert ServiceRequest.objects.count() == 0
    assert PICK_SALT  # the salt the tokens are signed with


def test_r6_1_an_expired_choice_is_a_message_and_keeps_what_was_typed(client_for, teammate, theirs, time_machine):
    time_machine.move_to(at(DAY, 9), tick=False)
    token = pick_token(teammate, theirs.pk)
    time_machine.move_to(at(DAY, 23), tick=False)
    response = client_for(teammate).post(
        reverse("service:new"), {"customer": token, "kind": "complaint", "channel": "phone", "text": "投诉：包装破损"}
    )
    page = response.content.decode()
    assert response.status_code == 200 and "find it again" in page and "投诉：包装破损" in page
    assert ServiceRequest.objects.count() == 0


def test_r6_1_a_chosen_customer_and_a_registration_are_not_both_taken(client_for, teammate, theirs):
    response = client_for(teammate).post(
        reverse("service:new"),
        {
            "customer": pick_token(teammate, theirs.pk),
            "kind": "complaint",
            "channel": "phone",
            "text": "投诉",
            "register": "on",
            "reg-name": "常州新科电子有限公司",
            "reg-source": "other",
            "reg-industry": "manufacturing",
            "reg-contact_name": "周经理",
            "reg-contact_phone": "13900001111",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200 and "not one of these" in page
    assert f'value="{pick_token(teammate, theirs.pk)}" checked' in page  # the choice is kept
    assert ServiceRequest.objects.count() == 0


def test_r6_1_no_match_says_so(client_for, teammate, theirs):
    page = client_for(teammate).get(reverse("service:new"), {"q": "完全不存在的公司"}).content.decode()
    assert "No customer of the company matches" in page


def test_r6_1_the_search_is_for_staff_who_log(client, db):
    from .factories import UserFactory

    nobody = UserFactory(username="norole", department=None)
    client.force_login(nobody)
    assert client.get(reverse("service:customer_pick"), {"q": "德润"}).status_code == 403
