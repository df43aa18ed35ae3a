from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RulesConfig(AppConfig):
    """The department's policy as the CRM applies it, with each rule's current settings. A read-only
    page on the top floor: it reads the settings of ownership, sales and service."""

    name = "rules"
    verbose_name = _("Rules")
