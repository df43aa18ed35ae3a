"""R6 in the browser: a complaint from an unknown caller is logged and the caller registered as a
customer in the same step (R5.1), then given a handling plan and closed when solved."""

from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from crm.dates import local_today
from customers.models import Basis
from service.models import EventKind, Outcome, RequestStatus, ServiceRequest

from .conftest import login

pytestmark = pytest.mark.browser


def test_complaint_from_unknown_caller_registered_then_closed_with_a_plan(page: Page, live_server, owner) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login(page, live_server, owner)

    page.goto(live_server.url + reverse("service:new"))
    page.locator("#id_kind").select_option("complaint")
    page.locator("#id_channel").select_option("phone")
    page.locator("#id_text").fill("投诉：上周到货的控制器有两台无法开机，要求换货。")
    page.locator("#id_caller_name").fill("周经理")
    page.locator("#id_register").check()
    page.locator("details summary").click()
    page.locator("#id_reg-name").fill("常州新科电子有限公司")
    page.locator("#id_reg-source").select_option("other")
    page.locator("#id_reg-contact_name").fill("周经理")
    page.locator("#id_reg-contact_phone").fill("13900001111")
    with page.expect_navigation():
        page.locator("#log-request").click()

    req = ServiceRequest.objects.get()
    assert page.url.endswith(reverse("service:detail", args=[req.pk]))
    assert req.responsible == owner and req.customer.owner == owner
    assert req.customer.owner_basis == Basis.FIRST_INQUIRY
    expect(page.locator(".request-text")).to_contain_text("要求换货")

    expected = local_today() + timedelta(days=3)
    plan = page.locator("#action-plan")
    plan.locator("#id_plan-expected_on").fill(expected.isoformat())
    plan.locator("#id_plan-told_customer").fill("已告知客户：三日内安排换货。")
    with page.expect_navigation():
        plan.locator("button[type=submit]").click()
    req.refresh_from_db()
    assert (req.outcome, req.expected_on, req.status) == (Outcome.PLAN, expected, RequestStatus.OPEN)

    close = page.locator("#action-close")
    close.locator("#id_close-text").fill("已换货，客户确认设备正常。")
    with page.expect_navigation():
        close.locator("button[type=submit]").click()
    req.refresh_from_db()
    assert req.status == RequestStatus.CLOSED and req.responsible == owner
    assert list(req.events.values_list("kind", flat=True)) == [EventKind.LOGGED, EventKind.PLANNED, EventKind.CLOSED]
    expect(page.locator(".list-group")).to_contain_text("已换货")
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
