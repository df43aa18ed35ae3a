from celery import shared_task


@shared_task(name="handovers.tasks.nag_missing_notes")
def nag_missing_notes(as_of: str | None = None) -> int:
    """Beat runs this each morning (R7.1): leavers with items still without a note are reminded.
    Safe twice: each handover is reminded once per day."""
    from datetime import date

    from .services import handovers_nag_missing_notes

    return handovers_nag_missing_notes(as_of=date.fromisoformat(as_of) if as_of else None)
