from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from ownership.nightly import register_nightly_step

        from . import sections  # noqa: F401  (registers the sales section of the customer file)
        from .services import tiers_recompute_nightly

        # R2.1: the window moves every night; runs inside the nightly job's locked transaction.
        register_nightly_step("sales.tiers", tiers_recompute_nightly)
