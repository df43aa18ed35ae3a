"""R6.1-R6.3, R6.5 service requests: the responsible person never changes, the three outcomes,
overdue at the boundaries (Asia/Shanghai days), moving an expected date, submitted text never
edited, unknown callers registered with R5.1's duplicate check; and the pages."""

from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse

from crm.dates import local_today
from crm.errors import DomainError, PermissionDenied
from customers.models import Basis, Customer
from notifications.models import Notification
from service import selectors, services
from service.models import EventKind, Outcome, RequestEvent, RequestStatus, ServiceRequest, ServiceSettings

from .factories import ContactFactory
from .helpers import SHANGHAI, at, owned_customer, pool_customer

# Messages are asserted in English; tests/test_translations.py checks that they are translated.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

DAY = date(2026, 3, 10)


def log(user, customer=None, *, kind="complaint", text="货物破损，要求换货", now=None, **caller):
    if customer is None and not caller:
        caller = {"caller_name": "马先生"}
    return services.request_log(
        user=user,
        data=services.RequestInput(kind=kind, channel="phone", text=text, **caller),
        customer=customer,
        now=now or at(DAY, 10),
    )


@pytest.fixture
def mine(owner):
    c = owned_customer(owner, since=DAY - timedelta(days=10), name="宁波德润精密机械有限公司")
    ContactFactory(customer=c, phone="13811112222")
    return c


# --- Responsible person (R6.1) ------------------------------------------------------------------


def test_logger_is_responsible_and_never_changes(owner, teammate, manager, mine, department):
    req = log(owner, mine)
    assert req.responsible == owner and req.department == department
    services.request_add_helper(request=req, user=owner, helper=teammate, now=at(DAY, 11))
    services.request_refer(request=req, user=owner, reason="转售后部处理", person=manager, now=at(DAY, 12))
    services.request_add_note(request=req, user=manager, text="已安排工程师", now=at(DAY, 13))
    services.request_plan(
        request=req, user=owner, expected_on=DAY + timedelta(days=3), told_customer="三日内解决", now=at(DAY, 14)
    )
    services.request_move_expected(
        request=req, user=owner, new_date=DAY + timedelta(days=5), reason="备件延迟", now=at(DAY, 15)
    )
    services.request_close(request=req, user=owner, text="已换货", now=at(DAY + timedelta(days=4), 9))
    req.refresh_from_db()
    assert req.responsible == owner and req.status == RequestStatus.CLOSED


def test_only_the_responsible_person_decides_the_outcome(owner, teammate, manager, admin_user, mine):
    req = log(owner, mine)
    services.request_add_helper(request=req, user=owner, helper=teammate, now=at(DAY, 11))
    for user in (teammate, manager, admin_user):
        with pytest.raises(PermissionDenied):
            services.request_solve(request=req, user=user, text="解决", now=at(DAY, 12))
        with pytest.raises(PermissionDenied):
            services.request_plan(
                request=req, user=user, expected_on=DAY + timedelta(days=1), told_customer="x", now=at(DAY, 12)
            )
    req.refresh_from_db()
    assert req.outcome == "" and req.responsible == owner


def test_the_responsible_person_cannot_be_a_helper_nor_changed_by_save(owner, mine):
    req = log(owner, mine)
    with pytest.raises(DomainError):
        services.request_add_helper(request=req, user=owner, helper=owner, now=at(DAY, 11))
    req.responsible_id = None
    with pytest.raises(ValueError):
        req.save()
    with pytest.raises(ValueError):
        req.save(update_fields=["responsible"])


def test_managers_add_helpers_helpers_only_add_notes(owner, teammate, manager, outsider, mine):
    req = log(owner, mine)
    services.request_add_helper(request=req, user=manager, helper=teammate, now=at(DAY, 11))
    assert Notification.objects.filter(recipient=teammate, kind="service_helper").exists()
    with pytest.raises(PermissionDenied):
        services.request_add_helper(request=req, user=teammate, helper=outsider, now=at(DAY, 11))
    services.request_add_note(request=req, user=teammate, text="我来联系客户", now=at(DAY, 12))
    with pytest.raises(PermissionDenied):
        services.request_add_note(request=req, user=outsider, text="看不到", now=at(DAY, 12))
    with pytest.raises(DomainError):
        services.request_add_helper(request=req, user=owner, helper=teammate, now=at(DAY, 13))


# --- Submitted text (R6.5) ---------------------------------------------------------------------


def test_submitted_text_is_never_edited_later_words_are_notes(owner, mine):
    req = log(owner, mine, text="原话：要求退货")
    services.request_add_note(request=req, user=owner, text="客户又补充：希望先换货", now=at(DAY, 11))
    req.refresh_from_db()
    assert req.text == "原话：要求退货"
    req.text = "改过的"
    with pytest.raises(ValueError):
        req.save(update_fields=["text"])
    assert list(req.events.values_list("kind", flat=True)) == [EventKind.LOGGED, EventKind.NOTE]
    event = req.events.last()
    event.text = "x"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()


def test_text_is_required(owner, mine):
    with pytest.raises(DomainError):
        log(owner, mine, text="   ")
    assert ServiceRequest.objects.count() == 0


# --- Outcomes (R6.2) ---------------------------------------------------------------------------


def test_solved_on_the_spot_closes(owner, mine):
    req = services.request_solve(request=log(owner, mine), user=owner, text="当场解答", now=at(DAY, 10, 30))
    assert (req.status, req.outcome, req.closed_at) == (RequestStatus.CLOSED, Outcome.SOLVED, at(DAY, 10, 30))
    with pytest.raises(DomainError):
        services.request_close(request=req, user=owner, text="again", now=at(DAY, 11))
    with pytest.raises(DomainError):
        services.request_plan(
            request=req, user=owner, expected_on=DAY + timedelta(days=1), told_customer="x", now=at(DAY, 11)
        )


def test_referral_needs_a_target_and_a_reason_and_the_person_becomes_a_helper(owner, manager, mine, other_department):
    req = log(owner, mine)
    with pytest.raises(DomainError):
        services.request_refer(request=req, user=owner, reason="原因", now=at(DAY, 11))
    with pytest.raises(DomainError):
        services.request_refer(request=req, user=owner, reason="  ", person=manager, now=at(DAY, 11))
    services.request_refer(request=req, user=owner, reason="属于售后范围", person=manager, now=at(DAY, 11))
    req.refresh_from_db()
    assert req.outcome == Outcome.REFERRED and req.status == RequestStatus.OPEN
    assert req.told_customer == "属于售后范围" and req.handling_person == manager
    assert selectors.is_helper(manager, req)
    # Referred on to another department: its managers see it.
    services.request_refer(request=req, user=owner, reason="转一部", department=other_department, now=at(DAY, 12))
    req.refresh_from_db()
    assert req.handling_department == other_department


def test_no_close_without_an_outcome(owner, mine):
    with pytest.raises(DomainError, match="Decide how the request ends"):
        services.request_close(request=log(owner, mine), user=owner, text="完成", now=at(DAY, 11))


def test_plan_then_close_when_solved(owner, mine):
    req = log(owner, mine)
    with pytest.raises(DomainError):
        services.request_plan(
            request=req, user=owner, expected_on=DAY - timedelta(days=1), told_customer="x", now=at(DAY, 11)
        )
    req = services.request_plan(
        request=req, user=owner, expected_on=DAY + timedelta(days=4), told_customer="周五前回复", now=at(DAY, 11)
    )
    assert (req.outcome, req.expected_on, req.due_on) == (
        Outcome.PLAN,
        DAY + timedelta(days=4),
        DAY + timedelta(days=4),
    )
    req = services.request_close(request=req, user=owner, text="已解决", now=at(DAY + timedelta(days=2), 9))
    assert req.status == RequestStatus.CLOSED and req.outcome == Outcome.PLAN


def test_moving_the_expected_date_needs_a_new_date_and_a_reason(owner, mine):
    req = log(owner, mine)
    with pytest.raises(DomainError, match="Only a handling plan"):
        services.request_move_expected(
            request=req, user=owner, new_date=DAY + timedelta(days=2), reason="x", now=at(DAY, 11)
        )
    services.request_plan(
        request=req, user=owner, expected_on=DAY + timedelta(days=2), told_customer="两天", now=at(DAY, 11)
    )
    for new_date, reason in ((None, "延期"), (DAY + timedelta(days=5), "  "), (DAY + timedelta(days=2), "同一天")):
        with pytest.raises(DomainError):
            services.request_move_expected(request=req, user=owner, new_date=new_date, reason=reason, now=at(DAY, 12))
    services.request_move_expected(
        request=req, user=owner, new_date=DAY + timedelta(days=5), reason="厂家备件延迟", now=at(DAY, 12)
    )
    req.refresh_from_db()
    assert req.expected_on == req.due_on == DAY + timedelta(days=5)
    moved = req.events.get(kind=EventKind.EXPECTED_MOVED)
    assert (moved.old_date, moved.new_date, moved.text) == (
        DAY + timedelta(days=2),
        DAY + timedelta(days=5),
        "厂家备件延迟",
    )


# --- Overdue (R6.3) ----------------------------------------------------------------------------


def overdue_ids(user, today):
    return set(selectors.overdue_for(user=user, today=today).values_list("pk", flat=True))


def test_overdue_at_the_boundaries(owner, manager, teammate, mine):
    # Logged at 23:30 Shanghai on 10 Mar (15:30 UTC): the day is the 10th, not the 11th.
    req = log(owner, mine, kind="complaint", now=datetime(2026, 3, 10, 23, 30, tzinfo=SHANGHAI))
    assert req.standard_days == 2 and req.due_on == date(2026, 3, 12)
    assert overdue_ids(owner, date(2026, 3, 11)) == set()  # the day before
    assert overdue_ids(owner, date(2026, 3, 12)) == set()  # the due day itself
    assert overdue_ids(owner, date(2026, 3, 13)) == {req.pk}  # the day after
    assert overdue_ids(manager, date(2026, 3, 13)) == {req.pk}
    assert overdue_ids(teammate, date(2026, 3, 13)) == set()


def test_consultation_standard_is_one_day_and_logged_just_after_midnight(owner, mine):
    req = log(owner, mine, kind="consultation", now=datetime(2026, 3, 11, 0, 5, tzinfo=SHANGHAI))
    assert req.due_on == date(2026, 3, 12)


def test_plan_replaces_the_standard_and_closed_is_never_overdue(owner, mine):
    req = log(owner, mine, kind="call")
    assert req.due_on == DAY + timedelta(days=1)
    services.request_plan(
        request=req, user=owner, expected_on=DAY + timedelta(days=7), told_customer="一周", now=at(DAY, 11)
    )
    assert overdue_ids(owner, DAY + timedelta(days=7)) == set()
    assert overdue_ids(owner, DAY + timedelta(days=8)) == {req.pk}
    services.request_close(request=req, user=owner, text="好了", now=at(DAY + timedelta(days=8), 9))
    assert overdue_ids(owner, DAY + timedelta(days=30)) == set()


def test_department_standards_are_settings(owner, manager, outsider, department, mine):
    services.service_settings_update(
        department=department,
        user=manager,
        data={"visit_days": 3, "call_days": 1, "consultation_days": 5, "complaint_days": 0},
        now=at(DAY, 9),
    )
    assert log(owner, mine, kind="consultation").due_on == DAY + timedelta(days=5)
    assert log(owner, mine, kind="complaint").due_on == DAY
    with pytest.raises(PermissionDenied):
        services.service_settings_update(department=department, user=owner, data=ServiceSettings.DEFAULTS)
    with pytest.raises(DomainError):
        services.service_settings_update(
            department=department, user=manager, data={**ServiceSettings.DEFAULTS, "call_days": 99}
        )


# --- Unknown callers (R5.1) --------------------------------------------------------------------


def registration(name="常州新科电子有限公司", phone="13900001111"):
    return services.Registration(
        data={"name": name, "source": "other", "industry": "electronics"},
        contacts=[{"name": "周经理", "phone": phone, "is_primary": True}],
    )


def test_unknown_caller_registered_in_the_same_step(owner, department):
    req = services.request_log(
        user=owner,
        data=services.RequestInput(kind="complaint", channel="phone", text="投诉交货延迟"),
        registration=registration(),
        now=at(DAY, 10),
    )
    customer = req.customer
    assert customer.owner == owner and customer.owner_basis == Basis.FIRST_INQUIRY
    assert req.caller_company == customer.name and req.caller_name == "周经理"


@pytest.mark.parametrize("dup", ["name", "phone"])
def test_duplicate_registration_is_refused_and_nothing_logged(owner, teammate, department, dup):
    existing = owned_customer(teammate, since=DAY, name="常州新科电子有限公司")
    ContactFactory(customer=existing, phone="13900001111")
    reg = registration() if dup == "name" else registration(name="别的名字有限公司")
    with pytest.raises(DomainError, match="owned by"):
        services.request_log(
            user=owner,
            data=services.RequestInput(kind="complaint", channel="phone", text="投诉"),
            registration=reg,
            now=at(DAY, 10),
        )
    assert ServiceRequest.objects.count() == 0 and Customer.objects.count() == 1


def test_unknown_caller_needs_some_identity(owner):
    with pytest.raises(DomainError):
        services.request_log(
            user=owner, data=services.RequestInput(kind="call", channel="phone", text="?"), now=at(DAY, 10)
        )


def test_r6_1_a_customer_the_logger_cannot_see_is_logged_and_its_owner_told(owner, teammate, mine):
    """Was refused until issue 11; tests/test_service_r6_1.py covers the whole case."""
    req = log(teammate, mine)
    assert (req.customer, req.responsible) == (mine, teammate)
    assert Notification.objects.filter(recipient=owner, kind="service_about_customer").exists()


def test_finance_logs_a_request_without_a_department(finance, mine):
    req = log(finance, mine)
    assert req.department == mine.department


# --- Visibility --------------------------------------------------------------------------------


def test_who_sees_a_request(owner, teammate, outsider, manager, finance, admin_user, mine, department):
    req = log(owner, mine)
    seen = {u.username for u in (owner, teammate, outsider, manager, finance, admin_user) if selectors.can_see(u, req)}
    assert seen == {"zhangwei", "liuqiang", "admin"}
    services.request_add_helper(request=req, user=owner, helper=finance, now=at(DAY, 11))
    assert selectors.can_see(finance, req)


def test_helper_who_cannot_see_the_customer_gets_no_file(client_for, owner, teammate, mine):
    req = log(owner, mine, text="标记文本")
    services.request_add_helper(request=req, user=owner, helper=teammate, now=at(DAY, 11))
    page = client_for(teammate).get(reverse("service:detail", args=[req.pk])).content.decode()
    assert "标记文本" in page
    assert reverse("customers:detail", args=[mine.pk]) not in page
    assert "13811112222" not in page


# --- Pages -------------------------------------------------------------------------------------


def test_log_complaint_for_unknown_caller_with_registration_over_http(client_for, owner):
    response = client_for(owner).post(
        reverse("service:new"),
        {
            "kind": "complaint",
            "channel": "phone",
            "text": "投诉：货到晚了三天",
            "register": "on",
            "reg-name": "无锡华信机械有限公司",
            "reg-source": "other",
            "reg-industry": "manufacturing",
            "reg-contact_name": "钱经理",
            "reg-contact_phone": "13700002222",
        },
    )
    assert response.status_code == 302
    req = ServiceRequest.objects.get()
    assert req.customer.name == "无锡华信机械有限公司" and req.customer.owner == owner


def test_duplicate_over_http_is_a_message(client_for, owner, teammate, department):
    owned_customer(teammate, since=DAY, name="无锡华信机械有限公司")
    response = client_for(owner).post(
        reverse("service:new"),
        {
            "kind": "complaint",
            "channel": "phone",
            "text": "投诉",
            "register": "on",
            "reg-name": "无锡华信机械有限公司",
            "reg-source": "other",
            "reg-industry": "manufacturing",
            "reg-contact_name": "钱经理",
            "reg-contact_phone": "13700002222",
        },
    )
    assert response.status_code == 200 and "Not registered" in response.content.decode()
    assert ServiceRequest.objects.count() == 0


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"kind": "nope", "channel": "phone", "text": "x", "caller_name": "a"},
        {"kind": "call", "channel": "phone", "text": "x"},
        {"kind": "call", "channel": "phone", "text": "x", "caller_phone": "12"},
        {"kind": "call", "channel": "phone", "text": "x", "register": "on"},
    ],
)
def test_bad_log_input_is_a_message(client_for, owner, data):
    assert client_for(owner).post(reverse("service:new"), data).status_code == 200
    assert ServiceRequest.objects.count() == 0


@pytest.mark.parametrize("value", ["abc", "0", "-1", str(2**64), "99999999"])
def test_bad_customer_param_is_404(client_for, owner, value):
    assert client_for(owner).get(reverse("service:new"), {"customer": value}).status_code == 404


def test_log_from_the_customer_page(client_for, owner, mine):
    client = client_for(owner)
    page = client.get(reverse("customers:detail", args=[mine.pk])).content.decode()
    assert f"{reverse('service:new')}?customer={mine.pk}" in page
    response = client.post(
        reverse("service:new"), {"customer": mine.pk, "kind": "consultation", "channel": "wechat", "text": "咨询价格"}
    )
    assert response.status_code == 302
    assert ServiceRequest.objects.get().customer == mine
    assert (
        "#" + str(ServiceRequest.objects.get().pk)
        in client.get(reverse("customers:detail", args=[mine.pk])).content.decode()
    )


def test_detail_actions_over_http(client_for, owner, manager, mine):
    req = log(owner, mine)
    client = client_for(owner)
    plan, move, close = (reverse(f"service:{n}", args=[req.pk]) for n in ("plan", "move", "close"))
    assert client.post(plan, {"plan-expected_on": "", "plan-told_customer": "x"}).status_code == 200
    assert client.post(plan, {"plan-expected_on": "2026-02-30", "plan-told_customer": "x"}).status_code == 200
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    assert client.post(plan, {"plan-expected_on": tomorrow, "plan-told_customer": "明天"}).status_code == 302
    response = client.post(move, {"move-new_date": tomorrow, "move-reason": ""})
    assert response.status_code == 200
    assert client.post(close, {"close-text": "解决"}).status_code == 302
    assert client_for(manager).post(close, {"close-text": "x"}).status_code == 403
    req.refresh_from_db()
    assert req.status == RequestStatus.CLOSED
    assert RequestEvent.objects.filter(request=req).count() == 3


def test_overdue_badge_and_list(client_for, owner, manager, teammate, mine, time_machine):
    time_machine.move_to(at(DAY, 9), tick=False)
    req = log(owner, mine, kind="call", now=at(DAY - timedelta(days=3), 9))
    for user in (owner, manager):
        page = client_for(user).get(reverse("service:list"), {"status": "overdue"}).content.decode()
        assert f"#{req.pk}" in page and "Overdue service requests" in page
    assert f"#{req.pk}" not in client_for(teammate).get(reverse("service:list"), {"status": "all"}).content.decode()


@pytest.mark.parametrize("query", [{"status": "bogus"}, {"kind": "x"}, {"page": "-5"}, {"size": "abc"}])
def test_list_bad_query_strings_never_500(client_for, owner, manager, query):
    for user in (owner, manager):
        assert client_for(user).get(reverse("service:list"), query).status_code == 200


def test_settings_page(client_for, owner, manager, admin_user, department, other_department):
    url = reverse("service:settings")
    assert client_for(owner).get(url).status_code == 403
    data = {"visit_days": 2, "call_days": 1, "consultation_days": 3, "complaint_days": 2}
    assert client_for(manager).post(url, data).status_code == 302
    assert ServiceSettings.objects.get(department=department).consultation_days == 3
    assert client_for(manager).post(url, {**data, "call_days": -1}).status_code == 200
    assert client_for(admin_user).get(url, {"department": "x"}).status_code == 200
    assert client_for(admin_user).post(url, {**data, "department": other_department.pk}).status_code == 302
    assert ServiceSettings.objects.filter(department=other_department).exists()


def test_pool_customer_request_by_a_salesperson(owner, department):
    pooled = pool_customer(department)
    assert log(owner, pooled).customer == pooled


# --- Overdue notifications (R6.3, nightly) ------------------------------------------------------


def _overdue_notes(user):
    return list(Notification.objects.filter(recipient=user, kind="service_overdue").values_list("text", flat=True))


def test_overdue_is_told_the_day_after_the_due_day_not_on_it(owner, manager, teammate, mine):
    req = log(owner, mine)  # a complaint on DAY: due DAY + 2
    due = req.due_on
    assert services.requests_notify_overdue(as_of=due - timedelta(days=1)) == 0
    assert services.requests_notify_overdue(as_of=due) == 0
    assert _overdue_notes(owner) == []

    assert services.requests_notify_overdue(as_of=due + timedelta(days=1)) == 1
    [text] = _overdue_notes(owner)
    assert f"#{req.pk}" in text and due.isoformat() in text
    assert len(_overdue_notes(manager)) == 1  # the department's manager: a count
    assert _overdue_notes(teammate) == []
    req.refresh_from_db()
    assert req.overdue_notified_for == due and req.responsible == owner


def test_overdue_is_told_once_per_due_day_and_again_after_a_missed_new_date(owner, mine):
    req = log(owner, mine)
    late = req.due_on + timedelta(days=1)
    services.requests_notify_overdue(as_of=late)
    assert services.requests_notify_overdue(as_of=late) == 0
    assert services.requests_notify_overdue(as_of=late + timedelta(days=3)) == 0
    assert len(_overdue_notes(owner)) == 1

    services.request_plan(
        request=req, user=owner, expected_on=late + timedelta(days=2), told_customer="两天内", now=at(late, 9)
    )
    assert services.requests_notify_overdue(as_of=late + timedelta(days=2)) == 0  # the new due day itself
    assert services.requests_notify_overdue(as_of=late + timedelta(days=3)) == 1
    assert len(_overdue_notes(owner)) == 2


def test_closed_requests_are_never_told_overdue(owner, mine):
    req = log(owner, mine)
    services.request_solve(request=req, user=owner, text="当场解决", now=at(DAY, 11))
    assert services.requests_notify_overdue(as_of=DAY + timedelta(days=30)) == 0
    assert _overdue_notes(owner) == []


def test_overdue_task_and_command_call_the_same_service(owner, mine):
    from io import StringIO

    from django.core.management import CommandError, call_command

    from service.tasks import notify_overdue_requests

    req = log(owner, mine)
    late = req.due_on + timedelta(days=1)
    assert notify_overdue_requests(late.isoformat()) == 1
    out = StringIO()
    call_command("notify_overdue_requests", "--as-of", late.isoformat(), stdout=out)
    assert "Notified 0 overdue" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("notify_overdue_requests", "--as-of", "2026-02-30")


def test_overdue_runs_nightly_in_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["overdue-service-requests"]
    assert entry["task"] == "service.tasks.notify_overdue_requests"
    assert entry["schedule"].hour == {1} and entry["schedule"].minute == {45}


# --- Review findings: a responsible person who left, department referrals, finance ---------------


def test_when_the_responsible_person_left_a_manager_decides_in_its_place(
    client_for, owner, teammate, manager, outsider, admin_user, mine
):
    """R6.1 / R7.1: the responsibility stays with the request (the responsible person is never
    changed); once that person is inactive, a manager of the request's department or an admin
    decides how it ends, so it does not stay open and overdue for ever."""
    req = log(owner, mine, now=at(DAY - timedelta(days=10), 10))
    with pytest.raises(PermissionDenied):  # while the responsible person is active
        services.request_solve(request=req, user=manager, text="已处理")
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    for other in (teammate, outsider):
        with pytest.raises(PermissionDenied):
            services.request_solve(request=req, user=other, text="已处理")
    page = client_for(manager).get(reverse("service:detail", args=[req.pk])).content.decode()
    assert reverse("service:solve", args=[req.pk]) in page and "has left" in page
    response = client_for(manager).post(reverse("service:solve", args=[req.pk]), {"solve-text": "经理代为办结"})
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == RequestStatus.CLOSED and req.responsible == owner
    event = RequestEvent.objects.filter(request=req).order_by("-id").first()
    assert event.actor == manager
    assert selectors.overdue_for(user=manager, today=DAY + timedelta(days=30)).count() == 0


def test_referral_to_a_department_alone_tells_its_managers(owner, manager, mine, other_department):
    from accounts import roles

    from .factories import UserFactory

    other_manager = UserFactory(role=roles.MANAGER, department=other_department)
    req = log(owner, mine)
    services.request_refer(request=req, user=owner, reason="转二部处理", department=other_department)
    assert Notification.objects.filter(recipient=other_manager, kind="service_referred").count() == 1
    assert not Notification.objects.filter(recipient=manager, kind="service_referred").exists()


def test_finance_logs_an_unknown_caller_without_the_register_box(client_for, finance):
    """Registering needs a department's pool (R5.1): finance does not get the box, and a crafted
    'register' is ignored instead of answering 403 and losing the typed request."""
    client = client_for(finance)
    assert 'name="register"' not in client.get(reverse("service:new")).content.decode()
    response = client.post(
        reverse("service:new"),
        {
            "kind": "consultation",
            "channel": "phone",
            "text": "询问发票开具",
            "caller_name": "马先生",
            "register": "on",
            "reg-name": "无锡华信机械有限公司",
        },
    )
    assert response.status_code == 302
    assert ServiceRequest.objects.get().customer is None
    assert not Customer.objects.filter(name="无锡华信机械有限公司").exists()


def test_list_of_one_customers_requests(client_for, owner, teammate, mine):
    """The customer page's "All service requests" opens the list filtered to that customer; a
    customer the user may not see is ignored and not named (R6.4)."""
    other = owned_customer(teammate, since=DAY, name="厦门蓝海食品有限公司")
    mine_req = log(owner, mine)
    other_req = log(teammate, other)
    url = reverse("service:list")
    page = client_for(owner).get(url, {"status": "all", "customer": mine.pk}).content.decode()
    assert f"#{mine_req.pk}<" in page and mine.name in page
    page = client_for(owner).get(url, {"status": "all", "customer": other.pk}).content.decode()
    assert other.name not in page and f"#{other_req.pk}<" not in page
    for bad in ("x", "-1", str(2**70), "1\x00"):
        assert client_for(owner).get(url, {"customer": bad}).status_code == 200
