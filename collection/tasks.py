"""Celery tasks of large imports (R1.2). Each takes only the batch id and calls the service, which
is safe to run twice (a batch no longer "checking" or "importing" is left alone)."""

from celery import shared_task

from . import services


@shared_task(name="collection.tasks.import_check")
def import_check_task(batch_id: int) -> str:
    return services.import_check_run(batch_id=batch_id).status


@shared_task(name="collection.tasks.import_run")
def import_run_task(batch_id: int) -> str:
    return services.import_run(batch_id=batch_id).status


@shared_task(name="collection.tasks.resume_stalled_imports")
def resume_stalled_imports() -> list[int]:
    """Beat runs this every minute: checks and imports nobody works on go to a worker again
    (command: `imports_resume --stalled`)."""
    return services.imports_resume_stalled()
