from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HandoversConfig(AppConfig):
    name = "handovers"
    verbose_name = _("Handovers")

    def ready(self) -> None:
        from sales.models import HoldSource
        from sales.selectors import register_hold_detail

        from . import sections  # noqa: F401  (registers the handover section of the customer file)
        from .selectors import hold_progress

        # Finance sees each handover hold's progress on the commission statement (R7.1, R8.3).
        register_hold_detail(HoldSource.HANDOVER, hold_progress)
