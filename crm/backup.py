"""Backup and restore of the database and the private documents (README "Backup and restore").

A backup is a directory `crm-<UTC time>/` holding
- `database.dump`: `pg_dump --format=custom` of the whole database;
- `private_media.tar.gz`: everything under PRIVATE_MEDIA_ROOT (customer documents, open imports);
- `manifest.json`: when, from which database, the exact row count of every table and the SHA-256
  of every file, so that a restore can prove it brought back what was saved.

The row counts are read in the very snapshot pg_dump dumps (pg_export_snapshot), and the files are
archived after it: a document row in the dump always has its file (the upload places the file
before its row commits). The directory is written under a temporary name and renamed when complete,
so a backup that died half-way never looks like one.

A restore goes into an empty database only (create one; never over the live one) and an empty
media directory, checks every file against the manifest first, and afterwards compares every
table's row count with the manifest."""

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from django.db import connection
from psycopg import sql

DUMP = "database.dump"
MEDIA = "private_media.tar.gz"
MANIFEST = "manifest.json"
PREFIX = "crm-"


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    """Where a database lives, as pg_dump and psycopg want it."""

    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""

    @classmethod
    def from_settings(cls, settings_dict: dict[str, Any]) -> "Target":
        if settings_dict["ENGINE"] != "django.db.backends.postgresql":
            raise BackupError("Backups need PostgreSQL (DATABASE_URL=postgres://…).")
        return cls(
            name=str(settings_dict["NAME"]),
            user=str(settings_dict.get("USER") or ""),
            password=str(settings_dict.get("PASSWORD") or ""),
            host=str(settings_dict.get("HOST") or ""),
            port=str(settings_dict.get("PORT") or ""),
        )

    def cli_args(self) -> list[str]:
        args = []
        if self.host:
            args += ["--host", self.host]
        if self.port:
            args += ["--port", self.port]
        if self.user:
            args += ["--username", self.user]
        return args

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        params = {"dbname": self.name, "user": self.user, "password": self.password, "host": self.host}
        if self.port:
            params["port"] = self.port
        return psycopg.connect(**{k: v for k, v in params.items() if v}, **kwargs)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tables(cursor: psycopg.Cursor) -> list[str]:
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    )
    return [row[0] for row in cursor.fetchall()]


def _counts(cursor: psycopg.Cursor, tables: list[str]) -> dict[str, int]:
    counts = {}
    for table in tables:
        cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
        row = cursor.fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


def _run(args: list[str], target: Target) -> None:
    result = subprocess.run(args, env=target.env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


def backup_create(*, output: Path, media_root: Path, now: datetime | None = None) -> Path:
    """Write one complete backup directory under `output` and return it."""
    target = Target.from_settings(connection.settings_dict)
    now = now or datetime.now(UTC)
    output.mkdir(parents=True, exist_ok=True, mode=0o700)
    final = output / f"{PREFIX}{now:%Y%m%d-%H%M%S}"
    if final.exists():
        raise BackupError(f"{final} exists already.")
    partial = output / f".{final.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(mode=0o700)
    try:
        with target.connect(autocommit=True) as conn, conn.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            row = cursor.fetchone()
            assert row is not None
            counts = _counts(cursor, _tables(cursor))
            _run(
                [
                    "pg_dump",
                    *target.cli_args(),
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={row[0]}",
                    f"--file={partial / DUMP}",
                    target.name,
                ],
                target,
            )
            cursor.execute("ROLLBACK")
        files = {}
        with tarfile.open(partial / MEDIA, "w:gz") as archive:
            if media_root.exists():
                for path in sorted(p for p in media_root.rglob("*") if p.is_file()):
                    relative = path.relative_to(media_root).as_posix()
                    files[relative] = _sha256(path)
                    archive.add(path, arcname=relative, recursive=False)
        manifest = {
            "created_at": now.isoformat(),
            "database": target.name,
            "tables": counts,
            "files": files,
            "sha256": {DUMP: _sha256(partial / DUMP), MEDIA: _sha256(partial / MEDIA)},
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        for path in partial.iterdir():
            path.chmod(0o600)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def backups_prune(*, output: Path, keep: int) -> list[Path]:
    """Delete all but the `keep` newest complete backups; returns what was deleted."""
    backups = sorted(p for p in output.glob(f"{PREFIX}*") if p.is_dir() and (p / MANIFEST).exists())
    doomed = backups[:-keep] if keep > 0 else []
    for path in doomed:
        shutil.rmtree(path)
    return doomed


def read_manifest(backup: Path) -> dict[str, Any]:
    try:
        return json.loads((backup / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{backup} is not a complete backup (no readable {MANIFEST}).") from exc


def backup_verify(backup: Path) -> dict[str, Any]:
    """The manifest, once the dump and the archive are proven intact."""
    manifest = read_manifest(backup)
    for name, digest in manifest["sha256"].items():
        if not (backup / name).exists() or _sha256(backup / name) != digest:
            raise BackupError(f"{backup / name} is missing or damaged (SHA-256 differs from the manifest).")
    return manifest


def backup_restore(*, backup: Path, target: Target, media_root: Path) -> dict[str, int]:
    """Restore into an empty database and an empty media directory; returns the restored counts."""
    manifest = backup_verify(backup)
    with target.connect(autocommit=True) as conn, conn.cursor() as cursor:
        if _tables(cursor):
            raise BackupError(f"The database {target.name} is not empty: restore into a new, empty database.")
    if media_root.exists() and any(media_root.iterdir()):
        raise BackupError(f"{media_root} is not empty: restore the documents into an empty directory.")
    _run(
        [
            "pg_restore",
            *target.cli_args(),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={target.name}",
            str(backup / DUMP),
        ],
        target,
    )
    media_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tarfile.open(backup / MEDIA, "r:gz") as archive:
        archive.extractall(media_root, filter="data")
    for relative, digest in manifest["files"].items():
        path = media_root / relative
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"{path} was not restored intact.")
        path.chmod(0o600)
    with target.connect(autocommit=True) as conn, conn.cursor() as cursor:
        counts = _counts(cursor, _tables(cursor))
    saved = manifest["tables"]
    if counts != saved:
        different = sorted(t for t in set(counts) | set(saved) if counts.get(t) != saved.get(t))
        raise BackupError(f"Row counts differ from the backup's in: {', '.join(different)}.")
    return counts
