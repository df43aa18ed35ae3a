"""R3 follow-up pages: who sees what (R6.4), the quick entry on the customer page, reports read
and commented by the manager, bad input answered with messages (never a 500), and the Excel
export escaping formulas."""

import re
from datetime import timedelta
from html.parser import HTMLParser
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts import roles
from crm.dates import local_today
from followups import services
from followups.models import Report, ReportStatus, Visit, VisitPlan
from followups.services import VisitInput

from .factories import ContactFactory, UserFactory
from .helpers import owned_customer, pool_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def today():
    return local_today()


@pytest.fixture
def mine(owner, today):
    c = owned_customer(owner, since=today - timedelta(days=20), name="宁波德润精密机械有限公司")
    ContactFactory(customer=c, name="赵经理")
    return c


def record(customer, user, when=None, **kw) -> Visit:
    when = when or timezone.now() - timedelta(minutes=5)
    data = VisitInput(
        visited_at=when, channel=kw.pop("channel", "visit"), discussed=kw.pop("discussed", "介绍产品"), **kw
    )
    return services.visit_record(customer=customer, user=user, data=data)


def form_data(**kw) -> dict:
    data = {
        "visited_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "channel": "visit",
        "discussed": "讨论了年度框架协议",
        "achievements": "",
        "unsolved_problems": "",
        "improvements_suggestions": "",
        "next_follow_up_on": "",
    }
    data.update(kw)
    return data


# --- The customer page's "Visits" section ------------------------------------------------------


def test_r3_2_customer_page_shows_visit_records_and_quick_entry_to_its_owner(client_for, owner, mine):
    record(mine, owner, discussed="首次拜访，介绍产品线")
    page = client_for(owner).get(reverse("customers:detail", args=[mine.pk])).content.decode()
    assert 'id="followups-visits"' in page and "首次拜访，介绍产品线" in page
    assert reverse("followups:visit_add", args=[mine.pk]) in page


def test_customer_page_visits_section_by_role(client_for, owner, manager, finance, mine):
    record(mine, owner, discussed="首次拜访")
    manager_page = client_for(manager).get(reverse("customers:detail", args=[mine.pk])).content.decode()
    assert "首次拜访" in manager_page and reverse("followups:visit_add", args=[mine.pk]) not in manager_page
    finance_page = client_for(finance).get(reverse("customers:detail", args=[mine.pk])).content.decode()
    assert 'id="followups-visits"' not in finance_page


def test_r3_2_quick_entry_with_htmx_records_the_visit_and_answers_the_section(client_for, owner, mine):
    """R3.2: the quick entry records contact, channel, what was discussed and the next follow-up date."""
    contact = mine.contacts.get()
    response = client_for(owner).post(
        reverse("followups:visit_add", args=[mine.pk]),
        form_data(
            contact=contact.pk,
            discussed="电话沟通交期",
            next_follow_up_on=(local_today() + timedelta(days=3)).isoformat(),
        ),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith("<div") and 'id="followups-visits"' in body and "电话沟通交期" in body
    v = Visit.objects.get()
    assert (v.salesperson, v.customer, v.contact) == (owner, mine, contact)
    mine.refresh_from_db()
    assert mine.last_contact_at == v.visited_at and mine.next_follow_up_on == local_today() + timedelta(days=3)


def test_r3_2_quick_entry_without_htmx_redirects_with_a_message(client_for, owner, mine):
    response = client_for(owner).post(reverse("followups:visit_add", args=[mine.pk]), form_data(), follow=True)
    assert response.redirect_chain[-1][0] == reverse("customers:detail", args=[mine.pk])
    assert Visit.objects.count() == 1


def test_r3_2_visit_to_another_salespersons_customer_is_refused(client_for, teammate, outsider, mine):
    for user in (teammate, outsider):
        client = client_for(user)
        assert client.post(reverse("followups:visit_add", args=[mine.pk]), form_data()).status_code == 404
        assert client.get(reverse("followups:visit_new") + f"?customer={mine.pk}").status_code == 404
    assert not Visit.objects.exists()


def test_r3_2_pool_customer_tracking_through_the_page(client_for, teammate, department):
    c = pool_customer(department)
    response = client_for(teammate).post(reverse("followups:visit_add", args=[c.pk]), form_data(), HTTP_HX_REQUEST="1")
    assert response.status_code == 200 and Visit.objects.filter(customer=c, salesperson=teammate).exists()


def test_r3_2_visit_record_from_my_customers_page(client_for, owner, mine):
    page = client_for(owner).get(reverse("customers:mine")).content.decode()
    assert f"{reverse('followups:visit_new')}?customer={mine.pk}" in page
    response = client_for(owner).post(
        reverse("followups:visit_new") + f"?customer={mine.pk}",
        {**form_data(), "next": reverse("customers:mine")},
    )
    assert response.status_code == 302 and response.url == reverse("customers:mine")
    assert Visit.objects.filter(customer=mine).count() == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"visited_at": "2026-02-30T10:00"},
        {"visited_at": "0001-01-01T00:00"},
        {"visited_at": "9999-12-31T23:59"},
        {"visited_at": "not a time"},
        {"discussed": ""},
        {"channel": "carrier-pigeon"},
        {"contact": "999999999999"},
        {"contact": "abc"},
        {"next_follow_up_on": "2000-01-01"},
        {"next_follow_up_on": "20260101"},
    ],
)
def test_r3_2_bad_visit_record_input_is_a_message_not_a_500(client_for, owner, mine, bad):
    response = client_for(owner).post(reverse("followups:visit_add", args=[mine.pk]), form_data(**bad))
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode() or "alert-danger" in response.content.decode()
    assert not Visit.objects.exists()


def test_r3_2_contact_of_another_customer_is_refused(client_for, owner, mine, teammate):
    other = owned_customer(teammate, since=local_today())
    foreign = ContactFactory(customer=other)
    response = client_for(owner).post(reverse("followups:visit_add", args=[mine.pk]), form_data(contact=foreign.pk))
    assert response.status_code == 200 and not Visit.objects.exists()


def test_r3_2_visit_record_corrected_by_its_author_only(client_for, owner, manager, teammate, mine):
    v = record(mine, owner)
    url = reverse("followups:visit_edit", args=[v.pk])
    assert client_for(teammate).get(url).status_code == 404
    assert client_for(manager).get(url).status_code == 403
    response = client_for(owner).post(url, form_data(discussed="更正后的记录"))
    assert response.status_code == 302
    v.refresh_from_db()
    assert v.discussed == "更正后的记录"


class _FormValues(HTMLParser):
    """The values a browser would submit from a page's POST form: an `<input type="date">` whose
    value is not an ISO date is submitted empty (the HTML value sanitization algorithm), which is
    how a Chinese date (2026/12/05) was lost; `datetime-local` likewise."""

    ISO = {"date": r"\d{4}-\d{2}-\d{2}", "datetime-local": r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?"}

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._in_post, self._textarea, self._select = False, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._in_post = (a.get("method") or "").lower() == "post"
        if not self._in_post:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "checkbox", "radio"):
            value = a.get("value") or ""
            pattern = self.ISO.get(a.get("type") or "")
            self.values[a["name"]] = value if pattern is None or re.fullmatch(pattern, value) else ""
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[self._textarea] = ""
        elif tag == "select":
            self._select = a["name"]
            self.values.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_post = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


def test_r3_2_visit_correction_saved_unchanged_in_chinese_keeps_every_field(client_for, owner, mine, today):
    """Issue 11: with the interface in Chinese the next follow-up was rendered 2026/12/05, which a
    browser's date field shows (and submits) empty: saving a correction unchanged erased it."""
    contact = mine.contacts.get()
    follow_up = today + timedelta(days=9)
    v = record(
        mine,
        owner,
        when=timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5),  # the form's precision
        channel="phone",
        contact=contact,
        discussed="电话沟通交期",
        achievements="确认交期",
        unsolved_problems="运费未定",
        improvements_suggestions="建议月结",
        next_follow_up_on=follow_up,
    )
    before = Visit.objects.values().get(pk=v.pk)
    url = reverse("followups:visit_edit", args=[v.pk])
    client = client_for(owner)
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'lang="zh-hans"' in page
    parser = _FormValues()
    parser.feed(page)
    assert parser.values["next_follow_up_on"] == follow_up.isoformat()
    response = client.post(url, parser.values, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 302
    after = Visit.objects.values().get(pk=v.pk)
    changed = {k for k in before if before[k] != after[k]} - {"updated_at"}
    assert not changed, {k: (before[k], after[k]) for k in changed}
    mine.refresh_from_db()
    assert mine.next_follow_up_on == follow_up


# --- Plans --------------------------------------------------------------------------------------


def test_plan_page_sets_my_plan_and_shows_progress(client_for, owner, mine, today):
    url = reverse("followups:plan")
    response = client_for(owner).post(url, {"target_count": "12", "customers": [str(mine.pk)]})
    assert response.status_code == 302
    plan = VisitPlan.objects.get(salesperson=owner)
    assert plan.month == today.replace(day=1) and plan.target_count == 12 and list(plan.customers.all()) == [mine]
    record(mine, owner)
    page = client_for(owner).get(url).content.decode()
    assert "1 / 12" in page and "1 / 1" in page


def test_manager_sets_a_team_members_plan_other_department_gets_404(client_for, owner, manager, outsider, mine):
    url = reverse("followups:plan") + f"?salesperson={owner.pk}"
    response = client_for(manager).post(url, {"target_count": "30", "customers": [str(mine.pk)]})
    assert response.status_code == 302
    assert VisitPlan.objects.get(salesperson=owner).set_by == manager
    other_manager = UserFactory(role=roles.MANAGER, department=outsider.department)
    assert client_for(other_manager).get(url).status_code == 404
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(manager).get(reverse("followups:team_plans")).status_code == 200


def test_plan_refuses_a_customer_not_mine(client_for, owner, teammate):
    theirs = owned_customer(teammate, since=local_today())
    response = client_for(owner).post(reverse("followups:plan"), {"target_count": "5", "customers": [str(theirs.pk)]})
    assert response.status_code == 200 and not VisitPlan.objects.exists()


@pytest.mark.parametrize(
    "query",
    ["?month=2026-13", "?month=abc", "?month=99999-01", "?salesperson=abc", "?salesperson=99999999999999999999"],
)
def test_plan_bad_query_strings(client_for, owner, manager, query):
    for user in (owner, manager):
        status = client_for(user).get(reverse("followups:plan") + query).status_code
        assert status in (200, 302, 404)


def test_plan_bad_target(client_for, owner):
    for target in ("-1", "1000", "abc", ""):
        response = client_for(owner).post(reverse("followups:plan"), {"target_count": target})
        assert response.status_code == 200
    assert not VisitPlan.objects.exists()


# --- Reports ------------------------------------------------------------------------------------


def test_daily_report_submit_then_frozen(client_for, owner, mine, today):
    record(mine, owner, discussed="讨论交货周期", achievements="拿到需求清单")
    url = reverse("followups:my_report", args=["daily"])
    page = client_for(owner).get(url).content.decode()
    assert "讨论交货周期" in page and "拿到需求清单" in page
    client = client_for(owner)
    assert client.post(url, {"summary": "草稿", "save": "1"}).status_code == 302
    assert Report.objects.get().status == ReportStatus.DRAFT
    response = client.post(url, {"summary": "今天进展顺利", "submit": "1"})
    report = Report.objects.get()
    assert response.status_code == 302 and response.url == reverse("followups:report_detail", args=[report.pk])
    assert report.status == ReportStatus.SUBMITTED and report.period_start == today
    # Editing is refused; the report page is the frozen one.
    response = client.post(url, {"summary": "改一下", "submit": "1"}, follow=True)
    assert Report.objects.get().summary == "今天进展顺利"
    assert "讨论交货周期" in response.content.decode()


def test_submit_without_summary_is_a_message(client_for, owner):
    response = client_for(owner).post(reverse("followups:my_report", args=["daily"]), {"summary": "", "submit": "1"})
    assert response.status_code == 200 and "alert-danger" in response.content.decode()
    assert not Report.objects.filter(status=ReportStatus.SUBMITTED).exists()


def submitted(owner, mine, **kw) -> Report:
    record(mine, owner, **kw)
    return services.report_submit(
        salesperson=owner, kind="daily", period_start=local_today(), summary="今日总结", user=owner
    )


def test_report_visibility(client_for, owner, teammate, manager, outsider, admin_user, finance, mine):
    report = submitted(owner, mine)
    other_manager = UserFactory(role=roles.MANAGER, department=outsider.department)
    url = reverse("followups:report_detail", args=[report.pk])
    expected = {
        owner: 200,
        manager: 200,
        admin_user: 200,
        teammate: 404,
        outsider: 404,
        other_manager: 404,
        finance: 404,
    }
    for user, status in expected.items():
        assert client_for(user).get(url).status_code == status, user


def test_draft_is_not_shown_to_the_manager(client_for, owner, manager):
    draft = services.report_save_draft(
        salesperson=owner, kind="daily", period_start=local_today(), summary="草稿", user=owner
    )
    assert client_for(manager).get(reverse("followups:report_detail", args=[draft.pk])).status_code == 404


def test_manager_team_reports_who_has_not_submitted_and_comment(client_for, owner, teammate, manager, mine):
    report = submitted(owner, mine)
    page = client_for(manager).get(reverse("followups:team_reports")).content.decode()
    assert str(owner) in page and str(teammate) in page
    assert reverse("followups:report_detail", args=[report.pk]) in page
    assert "table-warning" in page  # the teammate has not submitted
    response = client_for(manager).post(reverse("followups:report_comment", args=[report.pk]), {"text": "注意回款"})
    assert response.status_code == 302
    assert report.comments.get().author == manager
    # The salesperson's later words are comments too.
    client_for(owner).post(reverse("followups:report_comment", args=[report.pk]), {"text": "补充说明"})
    assert report.comments.count() == 2
    page = client_for(owner).get(reverse("followups:report_detail", args=[report.pk])).content.decode()
    assert "注意回款" in page and "补充说明" in page


def test_team_pages_are_for_managers(client_for, owner, finance):
    for user in (owner, finance):
        assert client_for(user).get(reverse("followups:team_reports")).status_code == 403
        assert client_for(user).get(reverse("followups:team_export")).status_code == 403


def test_empty_comment_is_a_message(client_for, owner, manager, mine):
    report = submitted(owner, mine)
    response = client_for(manager).post(
        reverse("followups:report_comment", args=[report.pk]), {"text": ""}, follow=True
    )
    assert response.status_code == 200 and not report.comments.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/followups/reports/daily/?day=garbage",
        "/followups/reports/daily/?day=2026-02-30",
        "/followups/reports/weekly/?day=0001-01-01",
        "/followups/reports/weekly/?day=99999-01-01",
        "/followups/reports/monthly/",
        "/followups/reports/team/?kind=monthly&day=xx",
        "/followups/reports/team/export/?kind=%00&day=%ff",
        "/followups/reports/999999999999999999999/",
        "/followups/visits/?day=2026-13-01",
        "/followups/visits/new/?customer=abc",
        "/followups/visits/new/",
        "/followups/visits/new/?customer=99999999999999999999999",
        "/followups/plans/?month=-1",
        "/followups/due/?page=abc",
    ],
)
def test_bad_query_strings_never_500(client_for, owner, manager, path):
    for user in (owner, manager):
        assert client_for(user).get(path).status_code in (200, 302, 403, 404), (user, path)


def test_comment_on_unknown_report_is_404(client_for, manager):
    assert client_for(manager).post("/followups/reports/abc/comment/", {"text": "x"}).status_code == 404
    assert client_for(manager).post("/followups/reports/12345/comment/", {"text": "x"}).status_code == 404


def test_changes_need_post(client_for, owner, mine):
    assert client_for(owner).get(reverse("followups:visit_add", args=[mine.pk])).status_code == 405


# --- Due list ----------------------------------------------------------------------------------


def test_r3_2_due_list_and_next_follow_up_on_my_customers(client_for, owner, mine, today):
    record(mine, owner, when=timezone.now() - timedelta(days=3), next_follow_up_on=today - timedelta(days=1))
    page = client_for(owner).get(reverse("followups:due")).content.decode()
    assert mine.name in page
    mine_page = client_for(owner).get(reverse("customers:mine")).content.decode()
    assert (today - timedelta(days=1)).isoformat() in mine_page


# --- Excel export -------------------------------------------------------------------------------


def test_excel_export_escapes_formulas(client_for, owner, manager, mine):
    submitted(
        owner,
        mine,
        discussed='=HYPERLINK("http://evil.example","点我")',
        achievements="+1+1",
        unsolved_problems="-2+3",
        improvements_suggestions="@SUM(A1:A9)",
    )
    report = Report.objects.get()
    Report.objects.filter(pk=report.pk).update(summary="=1+2")
    response = client_for(manager).get(reverse("followups:team_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Cache-Control"] == "private, no-store"
    wb = load_workbook(BytesIO(response.content))
    values = [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]
    texts = {c.value: c for c in values if isinstance(c.value, str)}
    assert all(c.data_type != "f" for c in values)
    # Text cells shown as typed, with the quotePrefix style that keeps them text when edited; no
    # apostrophe in an .xlsx (that is for CSV).
    for typed in ("=1+2", '=HYPERLINK("http://evil.example","点我")', "@SUM(A1:A9)", "+1+1", "-2+3"):
        assert texts[typed].data_type == "s" and texts[typed].quotePrefix, typed
    assert not any(t.startswith("'") for t in texts)
    assert str(owner) in texts and not texts[str(owner)].quotePrefix


def test_excel_export_only_the_managers_department(client_for, owner, manager, outsider, mine):
    submitted(owner, mine)
    other_manager = UserFactory(role=roles.MANAGER, department=outsider.department)
    wb = load_workbook(BytesIO(client_for(other_manager).get(reverse("followups:team_export")).content))
    assert wb.worksheets[0].max_row == 1  # the header only
    wb = load_workbook(BytesIO(client_for(manager).get(reverse("followups:team_export")).content))
    assert wb.worksheets[0].max_row == 2


def test_team_plans_page_queries_do_not_grow_with_the_team(client_for, manager, department):
    """R3.1 progress for every salesperson of the team in a constant number of queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts import roles

    from .factories import UserFactory

    def queries() -> int:
        client = client_for(manager)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("followups:team_plans")).status_code == 200
        return len(ctx.captured_queries)

    UserFactory(role=roles.SALESPERSON, department=department)
    few = queries()
    for _ in range(5):
        UserFactory(role=roles.SALESPERSON, department=department)
    assert queries() == few
