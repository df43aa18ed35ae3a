"""Issue 14, feedback and flow (the server's side; the browser journeys at phone size are in
tests/browser/test_phone_journeys.py): the claim answers with the new deadline and the quota
counters out of band; the release note is asked for only once the warning window opens (R5.10,
R7.3); finance reads that contacts are confidential; the customer page's thumb bar; an order
lands on itself; a cancelled import rejected nothing; the plan's filter; labelled buttons; filters
behind a toggle on phones."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from collection.models import ImportBatch, ImportStatus
from crm.dates import local_today
from ownership.models import PoolSettings
from sales.models import Order

from .collection_helpers import csv_bytes
from .factories import ContactFactory
from .helpers import owned_customer, pool_customer

pytestmark = pytest.mark.django_db

POOL = reverse("ownership:pool")


def html_of(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


# --- The claim answers in place ------------------------------------------------------------


def test_htmx_claim_shows_the_new_deadline_and_refreshes_the_counters_out_of_band(client_for, owner, department):
    customer = pool_customer(department, name="常州新科电子有限公司")
    owned_customer(owner, since=local_today())  # one unsold customer already
    client = client_for(owner)
    before = html_of(client.get(POOL))
    assert "今日已认领：0 / 20" in before and "未成交客户：1 / 200" in before
    html = html_of(client.post(reverse("ownership:claim", args=[customer.pk]), {"next": POOL}, HTTP_HX_REQUEST="true"))
    customer.refresh_from_db()
    assert html.lstrip().startswith(f'<tr id="pool-row-{customer.pk}"')  # the row, swapped in place
    days = (customer.deadline - local_today()).days
    assert f"归属于您至{customer.deadline:%Y-%m-%d}（剩余{days}天）" in html
    oob = html[html.index('<div id="pool-limits"') :]
    assert 'hx-swap-oob="true"' in oob[:120]
    assert "今日已认领：1 / 20" in oob and "未成交客户：2 / 200" in oob


def test_a_refused_htmx_claim_answers_with_the_counters_unchanged(client_for, owner, teammate, department):
    customer = pool_customer(department)
    client_for(teammate).post(reverse("ownership:claim", args=[customer.pk]))
    html = html_of(
        client_for(owner).post(reverse("ownership:claim", args=[customer.pk]), {"next": POOL}, HTTP_HX_REQUEST="true")
    )
    assert 'role="alert"' in html and "今日已认领：0 / 20" in html


def test_a_claim_without_htmx_still_redirects_with_the_message(client_for, owner, department):
    customer = pool_customer(department)
    response = client_for(owner).post(reverse("ownership:claim", args=[customer.pk]), {"next": POOL}, follow=True)
    assert "现已归属于您" in response.content.decode()


# --- The release note, asked for at the right time -----------------------------------------------


@pytest.mark.parametrize(("days_left", "asked"), [(61, False), (8, False), (7, True), (6, True), (0, True)])
def test_the_release_note_is_asked_for_only_inside_the_warning_window(client_for, owner, days_left, asked):
    """The default warning window is 7 days: the day before it opens, the day it opens, after."""
    today = local_today()
    customer = owned_customer(owner, since=today - timedelta(days=61 - days_left))
    customer.deadline = today + timedelta(days=days_left)
    customer.save()
    html = html_of(client_for(owner).get(reverse("customers:detail", args=[customer.pk])))
    assert ('data-testid="release-note-prompt"' in html) == asked
    assert ("btn btn-sm btn-warning" in html) == asked  # "write release note", highlighted
    assert ("退回客户池</a>" in html) != asked  # otherwise a quiet "return to the pool"


def test_the_warning_window_follows_the_departments_setting(client_for, owner, department):
    PoolSettings.objects.create(department=department, warning_days=14)
    customer = owned_customer(owner, since=local_today())
    customer.deadline = local_today() + timedelta(days=14)
    customer.save()
    assert 'data-testid="release-note-prompt"' in html_of(
        client_for(owner).get(reverse("customers:detail", args=[customer.pk]))
    )


def test_right_after_a_claim_no_release_note_is_asked(client_for, owner, department):
    customer = pool_customer(department)
    client = client_for(owner)
    client.post(reverse("ownership:claim", args=[customer.pk]))
    html = html_of(client.get(reverse("customers:detail", args=[customer.pk])))
    assert 'data-testid="release-note-prompt"' not in html and "btn btn-sm btn-warning" not in html
    assert "退回客户池</a>" in html  # the voluntary release stays at hand


# --- Contacts finance may not see ---------------------------------------------------------------


def test_finance_reads_that_contacts_are_confidential_not_that_there_are_none(client_for, owner, finance):
    with_contacts = owned_customer(owner, since=local_today())
    ContactFactory(customer=with_contacts, name="赵经理", phone="13800001234")
    without = owned_customer(owner, since=local_today())
    html = html_of(client_for(finance).get(reverse("customers:detail", args=[with_contacts.pk])))
    assert "联系人信息保密" in html and "暂无联系人" not in html
    assert "赵经理" not in html and "13800001234" not in html
    other = html_of(client_for(finance).get(reverse("customers:detail", args=[without.pk])))
    assert "联系人信息保密" not in other
    assert "联系人信息保密" not in html_of(client_for(owner).get(reverse("customers:detail", args=[without.pk])))


# --- The customer page's thumb bar -------------------------------------------------------------


def quick_actions(html: str) -> list[str]:
    if '<nav class="quick-actions' not in html:
        return []
    bar = html[html.index('<nav class="quick-actions') :]
    bar = bar[: bar.index("</nav>")]
    return [re.sub(r"<[^>]+>", "", label).strip() for label in re.findall(r"</i>([^<]+)</(?:a|button)>", bar)]


def test_the_owner_gets_visit_order_request_and_call_in_the_thumb_bar(client_for, owner):
    customer = owned_customer(owner, since=local_today())
    ContactFactory(customer=customer, phone="13900002222", is_primary=True)
    html = html_of(client_for(owner).get(reverse("customers:detail", args=[customer.pk])))
    assert quick_actions(html) == ["记录回访", "录入订单", "登记服务请求", "拨打电话"]
    bar = html[html.index('<nav class="quick-actions') :]
    assert 'href="tel:13900002222"' in bar[: bar.index("</nav>")]


def test_a_pool_customer_offers_the_claim_first(client_for, owner, department):
    customer = pool_customer(department)
    html = html_of(client_for(owner).get(reverse("customers:detail", args=[customer.pk])))
    assert quick_actions(html)[0] == "认领"
    bar = html[html.index('<nav class="quick-actions') :]
    assert f'action="{reverse("ownership:claim", args=[customer.pk])}"' in bar and "csrfmiddlewaretoken" in bar


def test_finance_gets_only_what_it_may_do(client_for, owner, finance):
    customer = owned_customer(owner, since=local_today())
    html = html_of(client_for(finance).get(reverse("customers:detail", args=[customer.pk])))
    assert quick_actions(html) == ["登记服务请求"]


def test_a_manager_gets_no_visit_nor_order_button(client_for, owner, manager):
    customer = owned_customer(owner, since=local_today())
    assert "录入订单" not in quick_actions(
        html_of(client_for(manager).get(reverse("customers:detail", args=[customer.pk])))
    )


# --- Small items -------------------------------------------------------------------------------


def test_after_saving_an_order_the_salesperson_lands_on_it(client_for, owner):
    customer = owned_customer(owner, since=local_today())
    response = client_for(owner).post(
        reverse("sales:order_create", args=[customer.pk]),
        {"amount": "8,800", "deal_date": local_today().isoformat(), "description": "控制器 2 台"},
    )
    order = Order.objects.get()
    assert response.status_code == 302 and response.url == reverse("sales:order_detail", args=[order.pk])


def test_a_cancelled_import_is_not_listed_as_rejected(client_for, owner, settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    rows = [
        ["深圳市华强电子有限公司", "", "电子", "深圳市", "王伟", "13800138000", "", ""],
        ["", "", "", "深圳市", "", "", "", ""],
    ]
    client = client_for(owner)
    client.post(
        reverse("collection:import_new"), {"file": SimpleUploadedFile("l.csv", csv_bytes(rows)), "source": "media"}
    )
    batch = ImportBatch.objects.get()
    assert batch.rejected_count == 1
    listed = html_of(client.get(reverse("collection:imports")))
    row = listed[listed.index(batch.file_name) :].split("</tr>")[0]
    assert re.findall(r'<td class="text-end">([^<]*)</td>', row)[-1].strip() == "1"  # checked: one rejected row
    client.post(reverse("collection:import_cancel", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == ImportStatus.CANCELLED
    listed = html_of(client.get(reverse("collection:imports")))
    row = listed[listed.index(batch.file_name) :].split("</tr>")[0]
    assert "已取消" in row and "import-status-cancelled" in row
    assert [c.strip() for c in re.findall(r'<td class="text-end">([^<]*)</td>', row)][-2:] == ["—", "—"]
    detail = html_of(client.get(reverse("collection:import_detail", args=[batch.pk])))
    assert 'data-testid="import-cancelled"' in detail
    assert reverse("collection:import_rejected", args=[batch.pk, "xlsx"]) not in detail


def test_the_visit_plan_has_a_name_filter_and_selected_only(client_for, owner):
    for i in range(3):
        owned_customer(owner, since=local_today(), name=f"计划客户{i}")
    html = html_of(client_for(owner).get(reverse("followups:plan")))
    assert "data-plan-filter-text" in html and "data-plan-filter-selected" in html and "js/followups.js" in html


def test_the_record_visit_button_is_labelled_in_words(client_for, owner):
    owned_customer(owner, since=local_today())
    html = html_of(client_for(owner).get(reverse("customers:mine")))
    assert re.search(r'<i class="bi bi-chat-left-text me-1" aria-hidden="true"></i>记录回访</a>', html)


@pytest.mark.parametrize("url_name", ["ownership:pool", "customers:mine"])
def test_filters_sit_behind_a_toggle_on_phones_and_stay_open_on_desks(client_for, owner, url_name):
    client = client_for(owner)
    html = html_of(client.get(reverse(url_name)))
    target = re.search(r'filter-toggle[^>]*data-bs-target="#([\w-]+)"[^>]*aria-controls="\1"', html).group(1)
    assert re.search(rf'class="collapse d-md-block" id="{target}"', html)
    assert 'class="btn btn-outline-secondary filter-toggle d-md-none' in html
    filtered = html_of(client.get(reverse(url_name), {"tier": "c", "industry": "software"}))
    assert re.search(r'filter-toggle[^>]*>.*?<span class="badge text-bg-primary">2</span>', filtered, re.S)
    invalid = html_of(client.get(reverse(url_name), {"tier": "nonsense"}))
    assert re.search(rf'class="collapse d-md-block show" id="{target}"', invalid)  # errors: opened


def test_rows_become_cards_below_md_from_one_rendering(client_for, owner, department):
    """One table, rendered once (.table-cards turns rows into cards in CSS): each customer
    appears once in the page, with its claim button."""
    customer = pool_customer(department, name="唯一一次公司")
    html = html_of(client_for(owner).get(POOL))
    assert html.count("唯一一次公司") == 1 and "table-cards" in html
    assert html.count(reverse("ownership:claim", args=[customer.pk])) == 2  # action and hx-post of one form


def test_the_phone_layout_css_is_shipped():
    from django.contrib.staticfiles import finders

    with open(finders.find("css/app.css"), encoding="utf-8") as handle:
        text = handle.read()
    assert "@media (max-width: 767.98px)" in text and ".table-cards > tbody > tr" in text
    assert ".table-responsive { position: relative; }" in text
