"""Demo: the dashboard's summary of the demo history. The other demo steps write their history at
past moments, after the replay's nightly runs summarised those days, so the summary is rebuilt
from the first history row once they are done."""

from django.db.models import Max

from crm.demo import DemoContext, demo_step
from ownership.models import OwnershipEvent

from .summary import latest_run, summarize


@demo_step(90)
def dashboard_summary(ctx: DemoContext) -> None:
    last_event = OwnershipEvent.objects.aggregate(last=Max("at"))["last"]
    run = latest_run()
    if run is not None and run.triggered_by == "seed_demo" and (last_event is None or run.taken_at >= last_event):
        ctx.log("  dashboard summary up to date; nothing added")
        return
    run = summarize(triggered_by="seed_demo", rebuild=True)
    ctx.log(f"  dashboard summary rebuilt ({run.duration_ms} ms)")
