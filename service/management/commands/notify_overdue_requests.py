from datetime import date

from django.core.management.base import BaseCommand, CommandError

from service.services import requests_notify_overdue


class Command(BaseCommand):
    help = (
        "Tell responsible persons (and their managers) about service requests past their due day "
        "(R6.3); each request is told once per due day."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today in Asia/Shanghai)")

    def handle(self, *args, as_of=None, **options):
        try:
            day = date.fromisoformat(as_of) if as_of else None
        except ValueError as exc:
            raise CommandError(f"--as-of must be YYYY-MM-DD, not {as_of!r}") from exc
        count = requests_notify_overdue(as_of=day)
        self.stdout.write(f"Notified {count} overdue service requests.")
