from django.core.management.base import BaseCommand
from django.utils import timezone

from dashboard.summary import summarize


class Command(BaseCommand):
    help = (
        "Summarise the pool's flows and the morning's state for the dashboard now (the nightly job does it "
        "every night). Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rebuild", action="store_true", help="recompute every day from the first history row, not only the last"
        )

    def handle(self, *args, rebuild: bool = False, **options):
        run = summarize(triggered_by="command", rebuild=rebuild)
        taken = timezone.localtime(run.taken_at)
        self.stdout.write(
            self.style.SUCCESS(f"Dashboard summary taken at {taken:%Y-%m-%d %H:%M:%S} ({run.duration_ms} ms).")
        )
