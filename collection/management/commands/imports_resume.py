from django.core.management.base import BaseCommand, CommandError

from collection.models import ImportBatch, ImportStatus
from collection.services import import_check_run, import_run, imports_resume_stalled


class Command(BaseCommand):
    help = (
        "Run the checks and imports (R1.2) left 'checking' or 'importing', e.g. after a Celery worker "
        "died: the same services the tasks call; a batch already finished is left alone. With "
        "--stalled, do what the scheduled task resume-stalled-imports does instead: hand to a worker "
        "the ones nobody works on (waiting for the broker, or no progress for IMPORT_STALL_MINUTES)."
    )

    def add_arguments(self, parser):
        parser.add_argument("batch_ids", nargs="*", type=int, help="only these batches (default: every stuck one)")
        parser.add_argument("--stalled", action="store_true", help="queue the stalled ones for a worker")

    def handle(self, *args, batch_ids=(), stalled=False, **options):
        if stalled:
            if batch_ids:
                raise CommandError("--stalled takes no batch ids")
            resumed = imports_resume_stalled()
            self.stdout.write(f"handed to a worker: {resumed or 'none'}")
            return
        qs = ImportBatch.objects.filter(status__in=(ImportStatus.CHECKING, ImportStatus.IMPORTING))
        if batch_ids:
            qs = qs.filter(pk__in=batch_ids)
            missing = set(batch_ids) - set(qs.values_list("pk", flat=True))
            if missing:
                raise CommandError(f"not checking or importing: {sorted(missing)}")
        for pk, status in qs.order_by("pk").values_list("pk", "status"):
            run = import_check_run if status == ImportStatus.CHECKING else import_run
            batch = run(batch_id=pk)
            self.stdout.write(f"import {pk}: {status} -> {batch.status}")
