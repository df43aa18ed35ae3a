from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OwnershipConfig(AppConfig):
    name = "ownership"
    verbose_name = _("Ownership and pool")

    def ready(self) -> None:
        from accounts.services import register_deactivation_check
        from crm.health import register_health_check

        from . import sections  # noqa: F401  (registers the ownership section of the customer file)
        from .monitoring import nightly_health
        from .selectors import still_owns_refusal

        register_health_check("nightly", nightly_health)
        register_deactivation_check("ownership", still_owns_refusal)
