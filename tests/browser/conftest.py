"""Playwright fixtures: Debian's Chromium (/usr/bin/chromium), headless, Chinese locale.

    @pytest.mark.browser
    def test_something(page, live_server, owner):
        login(page, live_server, owner)
        page.goto(live_server.url + "/pool/")

`live_server` (pytest-django) serves the app from a thread of the test process and makes the
test transactional: data is flushed afterwards (groups included; the user factory re-creates
them). A failing test leaves a screenshot in test-artifacts/.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD

# Playwright's sync API keeps an asyncio event loop on this thread, so Django would refuse ORM
# calls in the test body (SynchronousOnlyOperation). The test really is synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    # The machine's network is closed: without these Chromium keeps calling Google's hosts.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the item (item.rep_setup / rep_call / rep_teardown) so the
    page fixture knows whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid)[-150:]
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()


# The login form's own submit button (the page also has the language switcher's buttons).
LOGIN_SUBMIT = "form:has(#id_password) [type=submit]"


def login(page: Page, live_server, user: User, password: str = DEFAULT_PASSWORD) -> None:
    """Log in through the real form and wait for the page that follows."""
    page.goto(live_server.url + reverse("accounts:login"))
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click(LOGIN_SUBMIT)
