from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = _("Home pages and reports")

    def ready(self) -> None:
        from ownership.nightly import register_nightly_step

        from .summary import summarize_nightly

        # After the releases and the tier review (registered earlier, by sales): the summary then
        # holds the morning's state.
        register_nightly_step("dashboard.summary", summarize_nightly)
