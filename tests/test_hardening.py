"""Production hardening (issue 15): no caching of logged-in pages, the client's address behind a
proxy (login throttling, download log), the per-address login limit, idle sessions, the password
policy, what the Django admin may not delete, one-line logs of refused requests, the favicon."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts import roles
from accounts.models import User
from crm.dates import local_today
from crm.errors import DomainError
from crm.net import client_ip
from customers.models import CustomerDocument, DocumentDownload
from ownership.services import pool_settings_for

from .factories import DEFAULT_PASSWORD, UserFactory
from .helpers import owned_customer
from .test_documents import upload

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

LOGIN = "/accounts/login/"


def login(client: Client, username: str, password: str = DEFAULT_PASSWORD, **meta):
    return client.post(LOGIN, {"username": username, "password": password}, **meta)


# --- Cache-Control --------------------------------------------------------------------------------


def test_every_logged_in_response_is_private_and_not_stored(client_for, owner, manager):
    client = client_for(owner)
    for url in ("/customers/mine/", "/pool/", "/notifications/", "/accounts/password/"):
        response = client.get(url)
        assert response.status_code == 200, url
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert {"private", "no-store"} <= directives, url
    refused = client_for(owner).get(reverse("ownership:release_log"))
    assert refused.status_code == 403 and "no-store" in refused["Cache-Control"]
    assert "no-store" in client_for(manager).get("/nonexistent/").get("Cache-Control", "")


def test_the_login_and_logout_answers_are_not_stored(client, owner):
    response = login(client, owner.username)
    assert response.status_code == 302 and "no-store" in response["Cache-Control"]
    response = client.post(reverse("accounts:logout"))
    assert "no-store" in response["Cache-Control"]


def test_static_files_and_healthz_keep_their_own_caching(settings, client_for, owner):
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client = client_for(owner)  # a new handler: WhiteNoise reads these settings when it starts
    response = client.get("/static/img/favicon.svg")
    assert response.status_code == 200 and response["Content-Type"].startswith("image/svg")
    assert "no-store" not in response.get("Cache-Control", "")
    health = client.get("/healthz")
    assert health.status_code == 200 and "no-cache" in health["Cache-Control"]


# --- The favicon ----------------------------------------------------------------------------------


def test_favicon_is_linked_and_served_at_the_root(client, client_for, owner):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"].endswith("img/favicon.ico")
    assert "max-age=86400" in response["Cache-Control"]
    assert 'rel="icon" href="/static/img/favicon' in client.get(LOGIN).content.decode()
    admin_page = client_for(UserFactory(is_staff=True, is_superuser=True)).get("/admin/")
    assert 'rel="icon" href="/static/img/favicon' in admin_page.content.decode()


# --- The client's address -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        (0, "10.0.0.2", "203.0.113.7", "10.0.0.2"),  # no proxy configured: the header is anyone's
        (1, "10.0.0.2", "203.0.113.7", "203.0.113.7"),
        (1, "10.0.0.2", "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the client's own entry is ignored
        (2, "10.0.0.2", "6.6.6.6, 203.0.113.7, 198.51.100.1", "203.0.113.7"),
        (2, "10.0.0.2", "203.0.113.7", "10.0.0.2"),  # fewer hops than proxies: not through them
        (1, "10.0.0.2", "", "10.0.0.2"),
        (1, "10.0.0.2", "203.0.113.7:51234", "203.0.113.7"),
        (1, "10.0.0.2", "[2001:db8::1]:443", "2001:db8::1"),
        (1, "10.0.0.2", "2001:DB8::1", "2001:db8::1"),
        (1, "10.0.0.2", "<script>", "10.0.0.2"),
        (0, "not an address", "", None),
    ],
)
def test_client_ip(settings, proxies, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def _download(client, customer, document, **meta):
    response = client.get(reverse("customers:document_download", args=[customer.pk, document.pk]), **meta)
    assert response.status_code == 200
    b"".join(response.streaming_content)
    return DocumentDownload.objects.order_by("-pk").first()


@pytest.fixture
def document(settings, tmp_path, client_for, owner):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    customer = owned_customer(owner, since=local_today() - timedelta(days=3))
    assert upload(client_for(owner), customer).status_code == 302
    return customer, CustomerDocument.objects.get()


def test_download_log_records_the_client_behind_the_proxy_only_when_configured(settings, client_for, owner, document):
    customer, doc = document
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.7"}
    settings.TRUSTED_PROXY_COUNT = 0
    assert _download(client_for(owner), customer, doc, **meta).ip == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert _download(client_for(owner), customer, doc, **meta).ip == "203.0.113.7"


# --- Login throttling ---------------------------------------------------------------------------------


def _fail(username: str, times: int, **meta) -> None:
    for _ in range(times):
        response = login(Client(), username, "wrong-password-1", **meta)
        assert response.status_code in (200, 429)


def test_not_behind_a_proxy_the_forwarded_header_cannot_dodge_the_lock(settings, owner):
    """No proxy configured: an attacker writing a new X-Forwarded-For on every try is still one
    address, locked after five failures."""
    settings.TRUSTED_PROXY_COUNT = 0
    for i in range(5):
        login(
            Client(), owner.username, "wrong-password-1", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR=f"1.1.1.{i}"
        )
    response = login(Client(), owner.username, REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="1.1.1.99")
    assert response.status_code == 429 and "Too many failed logins" in response.content.decode()
    # The same username from another address is not locked (username AND address).
    assert login(Client(), owner.username, REMOTE_ADDR="198.51.100.10").status_code == 302


def test_behind_the_proxy_a_stranger_cannot_lock_a_colleague_out(settings, owner):
    """Every request comes from the proxy (10.0.0.2). Before: one stranger's five failures locked
    the username for the whole office. Now the lock is on the stranger's own address."""
    settings.TRUSTED_PROXY_COUNT = 1
    stranger = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    colleague = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "192.168.1.23"}
    _fail(owner.username, 5, **stranger)
    assert login(Client(), owner.username, **stranger).status_code == 429
    assert login(Client(), owner.username, **colleague).status_code == 302
    from axes.models import AccessAttempt

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}


def test_one_address_may_not_try_passwords_across_many_accounts(settings, department):
    """AXES_IP_FAILURE_LIMIT (20) failures from one address, a few on each of many usernames
    (never five on one), lock the address for every account; other addresses are not affected."""
    settings.TRUSTED_PROXY_COUNT = 1
    users = [UserFactory(role=roles.SALESPERSON, department=department) for _ in range(6)]
    spray = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.50"}
    for user in users[:5]:
        _fail(user.username, 4, **spray)  # 20 failures, four per username
    victim = users[5]
    response = login(Client(), victim.username, **spray)  # even the right password
    assert response.status_code == 429
    assert (
        login(Client(), victim.username, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.168.1.5").status_code == 302
    )


def test_below_the_per_address_limit_logins_go_on(settings, department):
    settings.TRUSTED_PROXY_COUNT = 0
    users = [UserFactory(role=roles.SALESPERSON, department=department) for _ in range(5)]
    for user in users[:4]:
        _fail(user.username, 4, REMOTE_ADDR="198.51.100.20")  # 16 < 20
    assert login(Client(), users[4].username, REMOTE_ADDR="198.51.100.20").status_code == 302


# --- Sessions ---------------------------------------------------------------------------------------


def test_sessions_end_after_the_idle_timeout_and_slide_with_activity(settings, owner, time_machine):
    assert settings.SESSION_IDLE_MINUTES == 30 and settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    time_machine.move_to(timezone.now(), tick=False)
    client = Client()
    response = login(client, owner.username)
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert not cookie["expires"] and not cookie["max-age"]  # ends with the browser
    for _ in range(4):  # active every 20 minutes for 80 minutes: still logged in
        time_machine.shift(timedelta(minutes=20))
        assert client.get("/customers/mine/").status_code == 200
    time_machine.shift(timedelta(minutes=31))  # then away from the shared PC
    response = client.get("/customers/mine/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_a_page_polling_by_itself_does_not_keep_the_session_alive(settings, owner, time_machine):
    from collection.models import ImportBatch, ImportStatus

    batch = ImportBatch.objects.create(
        department=owner.department,
        uploaded_by=owner,
        source="media",
        file_name="l.csv",
        status=ImportStatus.CHECKING,
        created_at=timezone.now(),
        queued_at=timezone.now(),
    )
    time_machine.move_to(timezone.now(), tick=False)
    client = Client()
    login(client, owner.username)
    client.get("/customers/mine/")
    url = reverse("collection:import_progress", args=[batch.pk])
    for _ in range(4):
        time_machine.shift(timedelta(minutes=7))
        assert client.get(url).status_code == 200  # the htmx poll, every second in a real page
    time_machine.shift(timedelta(minutes=3))  # 31 minutes after the last real request
    assert client.get("/customers/mine/").status_code == 302


# --- Passwords --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "zhangwei2026",  # the probe's case: username + digits
        "Zhangwei@123456",
        "2026.zhangwei!!",
        "zhangwei-zhangwei-88",
        "short-pw1",  # under 12 characters
        "123456789012345",  # all digits
        "password1234",  # common
        "zhangwei2024@example",  # close to the e-mail
    ],
)
def test_weak_staff_passwords_are_refused(owner, password):
    with pytest.raises(ValidationError):
        validate_password(password, owner)


@pytest.mark.parametrize("password", ["长城-Harbour-7-lantern", "blue tea pot 1987 river", "zhangwei likes red kites"])
def test_good_passwords_pass(owner, password):
    validate_password(password, owner)


def test_password_change_page_refuses_the_username_with_digits(client_for, owner):
    client = client_for(owner)
    response = client.post(
        "/accounts/password/",
        {"old_password": DEFAULT_PASSWORD, "new_password1": "zhangwei20261128", "new_password2": "zhangwei20261128"},
    )
    assert response.status_code == 200
    assert "The password is your username with digits or symbols added" in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(DEFAULT_PASSWORD)


# --- The Django admin ---------------------------------------------------------------------------------


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True, department=None)


def test_no_user_is_deleted_from_the_admin_not_even_by_a_superuser(client_for, root, owner):
    client = client_for(root)
    for user in (root, owner):
        assert client.get(reverse("admin:accounts_user_delete", args=[user.pk])).status_code == 403
        assert client.post(reverse("admin:accounts_user_delete", args=[user.pk]), {"post": "yes"}).status_code == 403
    changelist = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "delete_selected" not in changelist
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [owner.pk], "post": "yes"},
    )
    assert User.objects.filter(pk=owner.pk).exists()
    assert response.status_code in (200, 302)


def test_an_admin_cannot_take_its_own_rights_away(client_for, root, owner):
    client = client_for(root)
    own = client.get(reverse("admin:accounts_user_change", args=[root.pk])).content.decode()
    assert 'name="is_superuser"' not in own and 'name="is_active"' not in own and 'name="groups"' not in own
    other = client.get(reverse("admin:accounts_user_change", args=[owner.pk])).content.decode()
    assert 'name="is_active"' in other  # others are deactivated here


def test_role_groups_are_kept_and_keep_their_names(client_for, root):
    client = client_for(root)
    manager_group = Group.objects.get(name=roles.MANAGER)
    assert client.get(reverse("admin:auth_group_delete", args=[manager_group.pk])).status_code == 403
    page = client.get(reverse("admin:auth_group_change", args=[manager_group.pk])).content.decode()
    assert 'name="name"' not in page
    client.post(
        reverse("admin:auth_group_changelist"),
        {"action": "delete_selected", "_selected_action": [manager_group.pk], "post": "yes"},
    )
    assert Group.objects.filter(name=roles.MANAGER).exists()
    extra = Group.objects.create(name="temporary")
    assert client.get(reverse("admin:auth_group_delete", args=[extra.pk])).status_code == 200


def test_pool_settings_and_departments_are_not_deleted_from_the_admin(client_for, root, department):
    settings_row = pool_settings_for(department.pk)
    client = client_for(root)
    assert client.get(reverse("admin:ownership_poolsettings_delete", args=[settings_row.pk])).status_code == 403
    assert client.get(reverse("admin:ownership_poolsettings_add")).status_code == 403
    assert client.get(reverse("admin:ownership_poolsettings_change", args=[settings_row.pk])).status_code == 200
    assert client.get(reverse("admin:accounts_department_delete", args=[department.pk])).status_code == 403


def test_a_user_is_never_deleted_by_code_either(owner):
    with pytest.raises(DomainError, match="deactivated, never deleted"):
        owner.delete()
    assert User.objects.filter(pk=owner.pk).exists()


@pytest.mark.postgres
def test_the_database_refuses_to_delete_users_and_role_groups(owner):
    with pytest.raises(IntegrityError, match="never deleted"), transaction.atomic():
        User.objects.filter(pk=owner.pk).delete()
    with pytest.raises(IntegrityError, match="keeps its name"), transaction.atomic():
        Group.objects.filter(name=roles.ADMIN).update(name="root")
    with pytest.raises(IntegrityError, match="keeps its name"), transaction.atomic():
        Group.objects.filter(name=roles.FINANCE).delete()
    assert Group.objects.filter(name__in=roles.ALL_ROLES).count() == 4
    Group.objects.create(name="temporary").delete()  # other groups are the admin's to manage


# --- Logs -------------------------------------------------------------------------------------------


def test_a_403_is_logged_in_one_line_with_its_reason(client_for, owner, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    assert client_for(owner).get(reverse("ownership:release_log")).status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None and record.exc_text is None
    assert record.getMessage().startswith("Forbidden (Permission denied): /pool/")
    assert "PermissionDenied" in record.getMessage()


def test_a_404_is_logged_in_one_line(client_for, owner, caplog):
    caplog.set_level(logging.WARNING, logger="django.request")
    assert client_for(owner).get("/customers/999999/").status_code == 404
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None and "Not Found" in record.getMessage()
