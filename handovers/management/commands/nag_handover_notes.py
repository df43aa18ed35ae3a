from datetime import date

from django.core.management.base import BaseCommand, CommandError

from handovers.services import handovers_nag_missing_notes


class Command(BaseCommand):
    help = (
        "Remind salespeople handing customers over of the items still without a note (R7.1); "
        "each open handover is reminded once a day."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today in Asia/Shanghai)")

    def handle(self, *args, as_of=None, **options):
        try:
            day = date.fromisoformat(as_of) if as_of else None
        except ValueError as exc:
            raise CommandError(f"--as-of must be YYYY-MM-DD, not {as_of!r}") from exc
        count = handovers_nag_missing_notes(as_of=day)
        self.stdout.write(f"Reminded {count} salespeople of missing handover notes.")
