import logging
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from ownership.nightly import nightly_release

log = logging.getLogger(__name__)

# Exit statuses, for cron and operators: 0 the job ran; 1 it failed (nothing was changed: the run
# is one transaction); 3 it was skipped because another run held the lock (nothing was changed).
EXIT_FAILED = 1
EXIT_SKIPPED = 3


class Command(BaseCommand):
    help = (
        "Run the nightly ownership job (R5.2, R5.4, R5.10, R7.3) as of a date; --dry-run changes nothing. "
        f"Exits 0 when it ran, {EXIT_FAILED} when it failed, {EXIT_SKIPPED} when another run was in progress."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today in Asia/Shanghai)")
        parser.add_argument("--dry-run", action="store_true", help="show what would happen, change nothing")

    def handle(self, *args, as_of=None, dry_run=False, **options):
        try:
            day = date.fromisoformat(as_of) if as_of else None
        except ValueError as exc:
            raise CommandError(f"--as-of must be YYYY-MM-DD, not {as_of!r}") from exc
        try:
            result = nightly_release(as_of=day, dry_run=dry_run, triggered_by="command")
        except Exception as exc:
            log.exception("nightly release failed")
            raise CommandError(f"The nightly run failed and changed nothing: {exc}", returncode=EXIT_FAILED) from exc
        run = result.run
        if run.skipped:
            raise CommandError("Another run is in progress; this one changed nothing.", returncode=EXIT_SKIPPED)
        verb = "would release" if dry_run else "released"
        self.stdout.write(
            f"As of {run.as_of}: {verb} {run.released} customers "
            f"({run.released_no_deal} no deal within 2 months R5.2, "
            f"{run.released_no_sale} no sales for 3 months R5.4); "
            f"{run.missing_notes} without a release note (R7.3); warned {run.warned} (R5.10); {run.duration_ms} ms."
        )
        if result.per_owner:
            header = f"{'salesperson':<24}{'R5.2':>8}{'R5.4':>8}{'no note':>9}{'warned':>8}"
            self.stdout.write(header)
            self.stdout.write("-" * len(header))
            for owner_id, t in sorted(result.per_owner.items(), key=lambda kv: -(kv[1].no_deal + kv[1].no_sale)):
                name = result.owner_names.get(owner_id, str(owner_id))
                self.stdout.write(f"{name[:23]:<24}{t.no_deal:>8}{t.no_sale:>8}{t.missing_notes:>9}{t.warned:>8}")
