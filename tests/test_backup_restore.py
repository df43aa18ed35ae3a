"""The backup and restore drill, for real on PostgreSQL: back up the database and the private
documents, restore them into a fresh database and an empty directory, and find the same customers,
ownership history and documents (with their files, byte for byte)."""

import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from crm.backup import MANIFEST, Target
from crm.dates import local_today
from customers.models import Customer, CustomerDocument
from customers.services import document_path
from ownership.models import OwnershipEvent
from ownership.services import customer_claim

from .helpers import owned_customer, pool_customer
from .test_documents import PDF, upload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fresh_database():
    """An empty database beside the test database, dropped afterwards."""
    source = Target.from_settings(connection.settings_dict)
    name = f"{source.name}_restore"
    with source.connect(autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    target = Target(name=name, user=source.user, password=source.password, host=source.host, port=source.port)
    yield target
    with source.connect(autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _url(target: Target) -> str:
    return f"postgres://{target.user}@{target.host or '127.0.0.1'}:{target.port or 5432}/{target.name}"


def _rows(conn: psycopg.Connection, sql: str) -> set[tuple]:
    return set(conn.execute(sql).fetchall())


def test_backup_then_restore_into_a_fresh_database_finds_everything(
    settings, tmp_path, client_for, owner, teammate, department, fresh_database
):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "media"
    mine = owned_customer(owner, since=local_today() - timedelta(days=10), name="宁波德润精密机械有限公司")
    customer_claim(customer=pool_customer(department, name="苏州嘉禾食品有限公司"), user=teammate)
    assert upload(client_for(owner), mine, PDF, "营业执照.pdf").status_code == 302
    assert upload(client_for(owner), mine, PDF + b"%second", "税务登记.pdf").status_code == 302
    documents = list(CustomerDocument.objects.order_by("pk"))

    out = io.StringIO()
    call_command("backup_create", "--output", str(tmp_path / "backups"), stdout=out)
    [backup] = list((tmp_path / "backups").glob("crm-*"))
    assert f"Backup written: {backup}" in out.getvalue()
    manifest = json.loads((backup / MANIFEST).read_text())
    assert manifest["tables"]["customers_customer"] == 2
    assert len(manifest["files"]) == 2 and not list((tmp_path / "backups").glob(".*partial"))

    restored_media = tmp_path / "restored-media"
    out = io.StringIO()
    call_command(
        "backup_restore",
        str(backup),
        "--database-url",
        _url(fresh_database),
        "--media-root",
        str(restored_media),
        stdout=out,
    )
    assert "every count as backed up" in out.getvalue()

    with fresh_database.connect() as restored:
        assert _rows(restored, "SELECT id, name, owner_id, deadline FROM customers_customer") == set(
            Customer.objects.values_list("id", "name", "owner_id", "deadline")
        )
        assert _rows(
            restored, "SELECT id, customer_id, action, from_owner_id, to_owner_id, at FROM ownership_ownershipevent"
        ) == set(
            OwnershipEvent.objects.values_list("id", "customer_id", "action", "from_owner_id", "to_owner_id", "at")
        )
        assert OwnershipEvent.objects.count() >= 1
        assert _rows(restored, "SELECT id, stored_name, sha256 FROM customers_customerdocument") == {
            (d.pk, d.stored_name, d.sha256) for d in documents
        }
        # Database rules come back too: history stays append-only.
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="append-only"):
            restored.execute("DELETE FROM ownership_ownershipevent")
    for document in documents:
        source = document_path(document)
        copy = restored_media / source.relative_to(settings.PRIVATE_MEDIA_ROOT)
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == document.sha256
        assert copy.stat().st_mode & 0o777 == 0o600

    # A restore never goes over data: the same database again is refused.
    with pytest.raises(CommandError, match="is not empty"):
        call_command(
            "backup_restore", str(backup), "--database-url", _url(fresh_database), "--media-root", str(tmp_path / "x")
        )


def test_a_damaged_backup_is_refused_before_anything_is_restored(settings, tmp_path, owner, fresh_database):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "media"
    owned_customer(owner, since=local_today())
    call_command("backup_create", "--output", str(tmp_path / "b"), stdout=io.StringIO())
    [backup] = list((tmp_path / "b").glob("crm-*"))
    out = io.StringIO()
    call_command("backup_restore", str(backup), "--verify-only", stdout=out)
    assert "Backup intact" in out.getvalue()
    dump = backup / "database.dump"
    dump.write_bytes(dump.read_bytes()[:-10])
    with pytest.raises(CommandError, match="damaged"):
        call_command(
            "backup_restore", str(backup), "--database-url", _url(fresh_database), "--media-root", str(tmp_path / "m")
        )
    with fresh_database.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)


def test_old_backups_are_pruned(settings, tmp_path, owner):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "media"
    output = tmp_path / "b"
    for stamp in ("crm-20261101-023000", "crm-20261102-023000"):
        (output / stamp).mkdir(parents=True)
        (output / stamp / MANIFEST).write_text("{}")
    out = io.StringIO()
    call_command("backup_create", "--output", str(output), "--keep", "2", stdout=out)
    assert sorted(p.name for p in output.iterdir())[0] == "crm-20261102-023000"
    assert len(list(output.iterdir())) == 2 and "Old backup deleted" in out.getvalue()


def test_backups_need_postgresql(settings):
    from crm.backup import BackupError

    with pytest.raises(BackupError, match="PostgreSQL"):
        Target.from_settings({"ENGINE": "django.db.backends.sqlite3", "NAME": Path("x")})
