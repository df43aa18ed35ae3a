from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from crm.backup import BackupError, backup_create, backups_prune


class Command(BaseCommand):
    help = (
        "Back up the database (pg_dump custom format) and PRIVATE_MEDIA_ROOT into a new directory "
        "crm-<time>/ under BACKUP_DIR (or --output), with a manifest of row counts and checksums. "
        "Copy it off this machine afterwards. Restore with backup_restore."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", type=Path, help="directory for the backups (default: BACKUP_DIR)")
        parser.add_argument("--keep", type=int, default=0, help="then delete all but the N newest backups")

    def handle(self, *args, output=None, keep=0, **options):
        output = output or Path(settings.BACKUP_DIR)
        try:
            path = backup_create(output=output, media_root=Path(settings.PRIVATE_MEDIA_ROOT))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Backup written: {path}")
        for old in backups_prune(output=output, keep=keep):
            self.stdout.write(f"Old backup deleted: {old}")
