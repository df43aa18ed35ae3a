from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import override_settings
from django.utils.module_loading import autodiscover_modules

from crm.demo import DEMO_PASSWORD, DemoContext, steps


class Command(BaseCommand):
    help = "Load believable demo data (users for each role, ~300 Chinese companies, pool and history). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="allow in production mode")

    def handle(self, *args, force=False, **options):
        if settings.PRODUCTION and not force:
            raise CommandError("seed_demo creates users with a known password; refusing in production (use --force).")
        autodiscover_modules("demo")
        ctx = DemoContext(log=lambda msg: self.stdout.write(msg))
        # Demo history would otherwise mail every past warning to the demo users.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            for _order, name, fn in steps():
                with transaction.atomic():
                    fn(ctx)
                self.stdout.write(f"  ✓ {name}")
        self.stdout.write(self.style.SUCCESS(f"\nDemo logins (password for all: {DEMO_PASSWORD}):"))
        for role, username in ctx.data.get("logins", []):
            self.stdout.write(f"  {role:<22} {username}")
