from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ownership.monitoring import nightly_notify_if_stale, nightly_status


class Command(BaseCommand):
    help = (
        "Say when the nightly job last succeeded; when that is more than NIGHTLY_STALE_HOURS ago, notify "
        "the admins (once a day) and exit 1. The same service as the hourly task check_nightly_overdue."
    )

    def handle(self, *args, **options):
        status = nightly_status()
        since = timezone.localtime(status.since).strftime("%Y-%m-%d %H:%M")
        if status.last is not None:
            self.stdout.write(f"Last successful nightly run: as of {status.last.as_of}, finished {since}.")
        else:
            self.stdout.write(f"No nightly run has succeeded since the installation ({since}).")
        if status.ok:
            return
        notified = nightly_notify_if_stale()
        raise CommandError(
            f"No nightly run succeeded for more than {status.stale_hours} hours; {notified} admins notified now."
        )
