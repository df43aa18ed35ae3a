"""R1.3 information reports: who writes, assigns, adds findings, publishes and archives; who sees
drafts; published reports visible to every salesperson of the department and searchable."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from collection import services
from collection.models import InfoReportEvent, ReportAction, ReportStatus
from collection.selectors import reports_visible_to
from crm.errors import DomainError, PermissionDenied
from notifications.models import Notification

from .helpers import owned_customer, pool_customer

# Messages are asserted in English; tests/test_translations.py checks that they are translated.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
SH = ZoneInfo("Asia/Shanghai")

DATA = {
    "title": "新能源汽车零部件行业调研",
    "category": "新能源",
    "information_needed": "华南地区电池包供应商名单及采购周期",
    "work_plan": "两周内走访展会并电话摸底",
}


@pytest.fixture
def draft(owner):
    return services.report_create(user=owner, data=DATA)


def _complete(report, user):
    return services.report_update(
        report=report,
        user=user,
        data={**DATA, "summary": "共收集42家企业，采购集中在三季度。", "needs_direction": "轻量化结构件需求上升"},
    )


def test_draft_is_seen_by_author_assignees_and_managers_only(
    draft, owner, teammate, outsider, manager, finance, probation
):
    services.report_task_add(report=draft, user=owner, assignee=probation, text="整理深圳展会名单")
    for user, sees in [
        (owner, True),
        (probation, True),
        (manager, True),
        (teammate, False),
        (outsider, False),
        (finance, False),
    ]:
        assert reports_visible_to(user).filter(pk=draft.pk).exists() is sees, user.username


def test_assignee_adds_findings_before_publication_only(draft, owner, teammate, manager):
    task = services.report_task_add(report=draft, user=owner, assignee=teammate, text="电话摸底20家")
    assert Notification.objects.filter(recipient=teammate, kind="info_task").exists()
    with pytest.raises(PermissionDenied):
        services.task_findings_save(task=task, user=owner, findings="不是我的任务")
    services.task_findings_save(task=task, user=teammate, findings="12家有意向，3家要求样品")
    task.refresh_from_db()
    assert task.findings.startswith("12家") and task.findings_at is not None
    _complete(draft, owner)
    services.report_publish(report=draft, user=manager)
    with pytest.raises(PermissionDenied):
        services.task_findings_save(task=task, user=teammate, findings="发布后再改")


def test_only_a_manager_publishes_and_every_salesperson_is_notified(
    draft, owner, teammate, probation, outsider, manager, admin_user
):
    with pytest.raises(DomainError, match="summary"):
        services.report_publish(report=draft, user=manager)
    _complete(draft, owner)
    for user in (owner, teammate, outsider):
        with pytest.raises(PermissionDenied):
            services.report_publish(report=draft, user=user)
    moment = datetime(2026, 3, 2, 10, 0, tzinfo=SH)
    report = services.report_publish(report=draft, user=manager, now=moment)
    assert report.status == ReportStatus.PUBLISHED and report.published_at == moment
    notified = set(Notification.objects.filter(kind="info_report").values_list("recipient__username", flat=True))
    assert notified == {owner.username, teammate.username, probation.username}
    for user in (owner, teammate, probation, manager, admin_user):
        assert reports_visible_to(user).filter(pk=report.pk).exists(), user.username
    assert not reports_visible_to(outsider).filter(pk=report.pk).exists()
    with pytest.raises(PermissionDenied):
        services.report_update(report=report, user=owner, data={**DATA, "title": "改标题"})
    with pytest.raises(PermissionDenied):
        services.report_archive(report=report, user=owner)
    services.report_archive(report=report, user=manager)
    report.refresh_from_db()
    assert report.status == ReportStatus.ARCHIVED and report.archived_by == manager
    assert list(InfoReportEvent.objects.filter(report=report).order_by("id").values_list("action", flat=True)) == [
        ReportAction.CREATED,
        ReportAction.PUBLISHED,
        ReportAction.ARCHIVED,
    ]
    assert reports_visible_to(teammate).filter(pk=report.pk).exists(), "the archive stays readable"


def test_linked_customers_only_those_the_author_sees(draft, owner, teammate, manager, department):
    own = owned_customer(owner, since=date(2026, 1, 5), name="东莞鑫源电子有限公司")
    theirs = owned_customer(teammate, since=date(2026, 1, 5), name="佛山瑞丰陶瓷有限公司")
    pooled = pool_customer(department, name="中山天成灯饰有限公司")
    services.report_link_customer(report=draft, user=owner, customer=own)
    services.report_link_customer(report=draft, user=owner, customer=pooled)
    with pytest.raises(DomainError):
        services.report_link_customer(report=draft, user=owner, customer=theirs)
    with pytest.raises(DomainError):  # the manager sees it, but the author does not
        services.report_link_customer(report=draft, user=manager, customer=theirs)
    _complete(draft, owner)
    services.report_publish(report=draft, user=manager)
    links = set(draft.links.values_list("customer__name", flat=True))
    assert links == {own.name, pooled.name}


def test_report_pages_and_search(client_for, draft, owner, teammate, outsider, manager):
    _complete(draft, owner)
    other = services.report_create(user=manager, data={**DATA, "title": "医疗器械渠道", "category": "医疗"})
    services.report_update(
        report=other,
        user=manager,
        data={**DATA, "title": "医疗器械渠道", "category": "医疗", "summary": "s", "needs_direction": "n"},
    )
    services.report_publish(report=draft, user=manager, now=datetime(2026, 3, 2, 10, tzinfo=SH))
    services.report_publish(report=other, user=manager, now=datetime(2026, 4, 2, 10, tzinfo=SH))
    client = client_for(teammate)
    url = reverse("collection:reports")
    assert draft.title in client.get(url).content.decode()
    body = client.get(url, {"category": "医疗"}).content.decode()
    assert "医疗器械渠道" in body and draft.title not in body
    body = client.get(url, {"q": "轻量化"}).content.decode()
    assert draft.title in body and "医疗器械渠道" not in body
    body = client.get(url, {"date_from": "2026-04-01", "date_to": "2026-04-30"}).content.decode()
    assert "医疗器械渠道" in body and draft.title not in body
    for bad in ({"date_from": "2026-13-45"}, {"q": "a\x00b"}, {"status": "nope"}, {"page": "x" * 50}):
        assert client.get(url, bad).status_code == 200
    assert client.get(reverse("collection:report_detail", args=[draft.pk])).status_code == 200
    assert client_for(outsider).get(reverse("collection:report_detail", args=[draft.pk])).status_code == 404


def test_report_views_post_only_and_permissions(client_for, draft, owner, teammate, manager):
    detail = reverse("collection:report_detail", args=[draft.pk])
    assert client_for(teammate).get(detail).status_code == 404  # someone else's draft
    publish = reverse("collection:report_publish", args=[draft.pk])
    assert client_for(manager).get(publish).status_code == 405
    assert client_for(owner).post(publish).status_code == 403
    response = client_for(owner).post(
        reverse("collection:task_add", args=[draft.pk]), {"assignee": teammate.pk, "text": "走访五家"}
    )
    assert response.status_code == 302
    task = draft.tasks.get()
    assert client_for(teammate).get(detail).status_code == 200  # now an assignee
    response = client_for(teammate).post(
        reverse("collection:task_findings", args=[draft.pk, task.pk]), {f"t{task.pk}-findings": "三家有需求"}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.findings == "三家有需求"
    edit = reverse("collection:report_edit", args=[draft.pk])
    response = client_for(manager).post(edit, {**DATA, "summary": "汇总", "needs_direction": "方向"})
    assert response.status_code == 302
    assert client_for(manager).post(publish).status_code == 302
    draft.refresh_from_db()
    assert draft.status == ReportStatus.PUBLISHED
    assert client_for(owner).get(edit).status_code == 403
