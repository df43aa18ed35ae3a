import logging

from celery import shared_task

from .nightly import nightly_release as run_nightly_release

log = logging.getLogger(__name__)


@shared_task(name="ownership.tasks.nightly_release")
def nightly_release(as_of: str | None = None) -> dict:
    """Beat runs this at 01:00 Asia/Shanghai. Safe to run twice: the service is idempotent and
    exclusive."""
    from datetime import date

    result = run_nightly_release(as_of=date.fromisoformat(as_of) if as_of else None, triggered_by="celery beat")
    run = result.run
    if run.skipped:
        log.warning("nightly release as of %s skipped: another run is in progress", run.as_of)
    return {
        "as_of": run.as_of.isoformat(),
        "skipped": run.skipped,
        "released_no_deal": run.released_no_deal,
        "released_no_sale": run.released_no_sale,
        "warned": run.warned,
        "missing_notes": run.missing_notes,
    }


@shared_task(name="ownership.tasks.check_nightly_overdue")
def check_nightly_overdue() -> int:
    """Beat runs this hourly: admins are told when no nightly run succeeded for NIGHTLY_STALE_HOURS
    (command: `check_nightly`). Safe twice: one reminder a day at most."""
    from .monitoring import nightly_notify_if_stale

    return nightly_notify_if_stale()
