"""Issue 14, plain words: staff never read our rule ids (R5.2 …) — not in pages, messages, choices,
help texts, history rows, notifications or the catalogues — and the rules page shows the policy
with each rule's current settings for the reader's department, with an anchor for every link
that points at it."""

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.urls import reverse

from notifications.models import Notification
from ownership import services
from ownership.models import RULE_ANCHORS, PoolSettings
from ownership.nightly import nightly_release
from sales.models import SalesSettings
from service.models import ServiceSettings

from .factories import DepartmentFactory
from .helpers import at, owned_customer, pool_customer

pytestmark = pytest.mark.django_db

RULES = reverse("rules:index")
RULE_ID = re.compile(r"\bR[1-8](?:\.[0-9]+)?\b")
ROOT = Path(settings.BASE_DIR)
PROJECT_APPS = (
    "accounts",
    "notifications",
    "customers",
    "ownership",
    "sales",
    "followups",
    "service",
    "collection",
    "handovers",
)


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def anchors(html: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html))


# --- The rules page ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["owner", "probation", "manager", "finance", "admin_user"])
def test_every_role_reads_the_rules_page(client_for, request, who):
    html = page(client_for(request.getfixturevalue(who)), RULES)
    assert "客户管理制度与规则" in html
    assert not RULE_ID.search(html)


def test_the_page_shows_the_defaults_when_a_department_saved_no_settings(client_for, owner):
    html = page(client_for(owner), RULES)
    for text in (
        "<strong>2个自然月</strong>",
        "<strong>3个自然月</strong>",
        "<strong>200</strong>",
        "<strong>50</strong>",
    ):
        assert text in html, text
    assert "<strong>20</strong>" in html and "<strong>30天</strong>" in html and "<strong>7天</strong>" in html
    assert (
        "<strong>¥100,000.00</strong>" in html and "<strong>3%</strong>" in html and "<strong>12个月</strong>" in html
    )
    assert "投诉: <strong>2</strong>" in html or "投诉：<strong>2</strong>" in html


def test_the_page_shows_the_readers_department_settings_in_force(client_for, owner, department, other_department):
    PoolSettings.objects.create(
        department=department,
        max_unsold=150,
        max_unsold_probation=40,
        daily_claim_cap=12,
        reclaim_cooloff_days=45,
        warning_days=10,
    )
    SalesSettings.objects.create(
        department=department,
        vip_threshold=Decimal(200000),
        a_threshold=Decimal(80000),
        b_threshold=Decimal(40000),
        window_months=6,
        commission_rate=Decimal("0.05"),
    )
    ServiceSettings.objects.create(department=department, complaint_days=4)
    PoolSettings.objects.create(department=other_department, daily_claim_cap=99)
    html = page(client_for(owner), RULES)
    for text in (
        "<strong>150</strong>",
        "<strong>40</strong>",
        "<strong>12</strong>",
        "<strong>45天</strong>",
        "<strong>10天</strong>",
        "<strong>¥200,000.00</strong>",
        "<strong>¥80,000.00</strong>",
        "<strong>¥40,000.00</strong>",
        "<strong>6个月</strong>",
        "<strong>5%</strong>",
        "<strong>4</strong>",
    ):
        assert text in html, text
    assert "<strong>99</strong>" not in html  # another department's
    # A salesperson cannot look at another department's settings by changing the URL.
    assert "<strong>99</strong>" not in page(client_for(owner), f"{RULES}?department={other_department.pk}")


def test_finance_and_admins_pick_the_department(client_for, finance, admin_user, department, other_department):
    PoolSettings.objects.create(department=other_department, daily_claim_cap=99)
    for user in (finance, admin_user):
        html = page(client_for(user), f"{RULES}?department={other_department.pk}")
        assert "<strong>99</strong>" in html and 'name="department"' in html
        assert "<strong>20</strong>" in page(client_for(user), f"{RULES}?department={department.pk}")
        assert page(client_for(user), f"{RULES}?department=x")  # malformed: the first department, no error


def test_the_page_without_any_department_shows_the_defaults(client_for, admin_user):
    html = page(client_for(admin_user), RULES)
    assert "<strong>200</strong>" in html


def test_every_link_to_the_rules_page_lands_on_an_anchor_of_it(client_for, owner):
    html = page(client_for(owner), RULES)
    ids = anchors(html)
    linked: set[str] = set(RULE_ANCHORS.values())
    pattern = re.compile(r"""rules:index['"]\s*%\}#([a-z0-9-]+)""")
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]:
        if ".venv" in path.parts:
            continue
        linked |= set(pattern.findall(path.read_text()))
    assert {"deal-deadline", "no-sale-deadline", "first-order", "claim-limits", "release-note"} <= linked
    assert linked <= ids, linked - ids
    # And the table of contents points at sections that exist.
    assert set(re.findall(r'href="#([a-z0-9-]+)"', html)) <= ids


def test_the_navigation_links_to_the_rules_page(client_for, owner, manager, finance):
    for user in (owner, manager, finance):
        assert f'href="{RULES}"' in page(client_for(user), reverse("notifications:list"))


# --- No rule ids where staff read ----------------------------------------------------------


def test_models_choices_verbose_names_and_help_texts_have_no_rule_ids():
    found = []
    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models():
            texts = [str(model._meta.verbose_name), str(model._meta.verbose_name_plural)]
            for field in model._meta.get_fields():
                texts += [str(getattr(field, "verbose_name", "")), str(getattr(field, "help_text", ""))]
                texts += [str(label) for _value, label in (getattr(field, "flatchoices", None) or [])]
            found += [f"{model.__name__}: {t}" for t in texts if RULE_ID.search(t)]
    assert not found, found


def test_no_catalogue_shows_a_rule_id():
    """msgid and msgstr alike (comments, where the code's references sit, are not read by anyone)."""
    catalogues = [p for p in ROOT.glob("**/LC_MESSAGES/django.po") if ".venv" not in p.parts]
    assert len(catalogues) >= 4
    offending = []
    for path in catalogues:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if not line.startswith("#") and RULE_ID.search(line):
                offending.append(f"{path.relative_to(ROOT)}:{number}: {line}")
    assert not offending, offending


def test_templates_say_no_rule_id_outside_comments():
    offending = []
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]:
        if ".venv" in path.parts:
            continue
        text = re.sub(r"\{% comment %\}.*?\{% endcomment %\}|\{#.*?#\}", "", path.read_text(), flags=re.S)
        offending += [f"{path.relative_to(ROOT)}: {m}" for m in RULE_ID.findall(text)]
    assert not offending, offending


def test_history_rows_and_nightly_notifications_speak_plain_words(client_for, owner, teammate, department):
    """A rule that acted on its own is named in words and links to its place on the rules page."""
    c = owned_customer(owner, since=date(2026, 1, 10))
    owned_customer(owner, since=date(2026, 1, 14), name="苏州远景电子有限公司")  # deadline 14 Mar: warned
    nightly_release(as_of=date(2026, 3, 11), now=at(date(2026, 3, 11), 1))
    services.customer_claim(customer=c, user=teammate)
    html = page(client_for(teammate), reverse("customers:detail", args=[c.pk]))
    assert "规则：2个月内未成交" in html and 'href="/rules/#deal-deadline"' in html
    assert not RULE_ID.search(html)
    texts = list(Notification.objects.filter(recipient=owner).values_list("text", flat=True))
    assert any("退回客户池" in t for t in texts) and any("苏州远景电子有限公司" in t for t in texts), texts
    assert not any(RULE_ID.search(t) for t in texts), texts


@pytest.mark.parametrize(
    "url_name",
    [
        "ownership:pool",
        "customers:mine",
        "ownership:register",
        "followups:plan",
        "followups:due",
        "service:new",
        "service:list",
        "sales:orders",
        "collection:imports",
        "collection:import_new",
        "notifications:list",
    ],
)
def test_salespeoples_pages_have_no_rule_ids(client_for, owner, department, url_name):
    pool_customer(department)
    owned_customer(owner, since=date(2026, 1, 10))
    assert not RULE_ID.search(page(client_for(owner), reverse(url_name)))


@pytest.mark.parametrize(
    "url_name",
    [
        "ownership:pool",
        "ownership:release_log",
        "ownership:missing_notes",
        "ownership:preview",
        "ownership:settings",
        "sales:receivables",
        "sales:commission",
        "sales:holds",
        "sales:settings",
        "service:settings",
        "customers:list",
    ],
)
def test_managers_pages_have_no_rule_ids(client_for, manager, owner, department, url_name):
    pool_customer(department)
    owned_customer(owner, since=date(2026, 1, 10))
    assert not RULE_ID.search(page(client_for(manager), reverse(url_name)))


def test_refusals_speak_plain_words(owner, department):
    """The claim limits' refusal (a DomainError shown as the message) names no rule."""
    PoolSettings.objects.create(department=department, daily_claim_cap=0)
    with pytest.raises(services.ClaimRefused) as refused:
        services.customer_claim(customer=pool_customer(department), user=owner)
    assert "今天" in refused.value.message and not RULE_ID.search(refused.value.message)


def test_settings_forms_explain_in_plain_words(client_for, manager):
    html = page(client_for(manager), reverse("ownership:settings"))
    assert "达到此数量后" in html and not RULE_ID.search(html)


def test_a_department_of_its_own_is_shown_by_name(client_for, db):
    from accounts import roles

    from .factories import UserFactory

    dept = DepartmentFactory(name="销售五部")
    user = UserFactory(username="x5", role=roles.SALESPERSON, department=dept)
    assert "销售五部当前生效的设置" in page(client_for(user), RULES)
