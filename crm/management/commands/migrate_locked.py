from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

LOCK_KEY = "crm.migrate"


class Command(BaseCommand):
    help = (
        "`migrate --no-input` under a PostgreSQL advisory lock: when several containers start at once "
        "(docker-compose up --scale web=3), one migrates and the others wait, then find nothing to do."
    )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [LOCK_KEY])
            try:
                call_command("migrate", interactive=False, verbosity=options["verbosity"])
            finally:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [LOCK_KEY])
