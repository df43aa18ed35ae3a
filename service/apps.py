from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "service"
    verbose_name = _("Customer service")

    def ready(self) -> None:
        from . import sections  # noqa: F401  (registers the "Service requests" section of the customer file)
