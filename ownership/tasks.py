from celery import shared_task

from .nightly import nightly_release as run_nightly_release


@shared_task(name="ownership.tasks.nightly_release")
def nightly_release(as_of: str | None = None) -> dict:
    """Beat runs this at 01:00 Asia/Shanghai. Safe to run twice: the service is idempotent and
    exclusive."""
    from datetime import date

    result = run_nightly_release(as_of=date.fromisoformat(as_of) if as_of else None, triggered_by="celery beat")
    run = result.run
    return {
        "as_of": run.as_of.isoformat(),
        "skipped": run.skipped,
        "released_no_deal": run.released_no_deal,
        "released_no_sale": run.released_no_sale,
        "warned": run.warned,
        "missing_notes": run.missing_notes,
    }
