import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from .conftest import LOGIN_SUBMIT, login

pytestmark = pytest.mark.browser


def test_login_form_logs_in(page: Page, live_server, owner) -> None:
    page.goto(live_server.url + reverse("accounts:login"))
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.locator("#id_password")).to_be_visible()
    expect(page.locator(LOGIN_SUBMIT)).to_be_visible()

    login(page, live_server, owner)

    assert reverse("accounts:login") not in page.url


def test_wrong_password_shows_an_error(page: Page, live_server, owner) -> None:
    login(page, live_server, owner, password="not-the-password")

    assert reverse("accounts:login") in page.url
    expect(page.locator("#id_username")).to_be_visible()
    # Django's AuthenticationForm puts the error in the form's non-field errors.
    expect(page.locator(".errorlist, .alert-danger, .invalid-feedback").first).to_be_visible()
