from pathlib import Path

import environ
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from crm.backup import BackupError, Target, backup_restore, backup_verify


class Command(BaseCommand):
    help = (
        "Restore a backup made by backup_create into an EMPTY database (--database-url, default the "
        "configured one) and an EMPTY documents directory (--media-root, default PRIVATE_MEDIA_ROOT); "
        "checks every file and every table's row count against the backup's manifest. --verify-only "
        "checks the backup's files and restores nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("backup", type=Path, help="a crm-<time> directory written by backup_create")
        parser.add_argument("--database-url", help="postgres://user@host:port/name of an empty database")
        parser.add_argument("--media-root", type=Path, help="an empty directory for the documents")
        parser.add_argument("--verify-only", action="store_true", help="check the backup, restore nothing")

    def handle(self, *args, backup, database_url=None, media_root=None, verify_only=False, **options):
        try:
            if verify_only:
                manifest = backup_verify(backup)
                self.stdout.write(
                    f"Backup intact: {len(manifest['tables'])} tables, {len(manifest['files'])} files, "
                    f"made {manifest['created_at']}."
                )
                return
            target = Target.from_settings(
                environ.Env.db_url_config(database_url) if database_url else connection.settings_dict
            )
            counts = backup_restore(
                backup=backup, target=target, media_root=media_root or Path(settings.PRIVATE_MEDIA_ROOT)
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Restored into {target.name}: {len(counts)} tables, {sum(counts.values())} rows, every count as backed up."
        )
