from datetime import date

from django.core.management.base import BaseCommand, CommandError

from customers.services import EXPIRY_WARNING_DAYS, documents_notify_expiring


class Command(BaseCommand):
    help = (
        f"Notify owners of customer documents expiring within {EXPIRY_WARNING_DAYS} days (R4.1); "
        "each document is notified once per validity date."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today in Asia/Shanghai)")

    def handle(self, *args, as_of=None, **options):
        try:
            day = date.fromisoformat(as_of) if as_of else None
        except ValueError as exc:
            raise CommandError(f"--as-of must be YYYY-MM-DD, not {as_of!r}") from exc
        count = documents_notify_expiring(as_of=day)
        self.stdout.write(f"Notified owners of {count} expiring documents.")
