from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "civitas.risk"
    label = "risk"
    verbose_name = _("Risk research and judgment")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from civitas.risk import access_rules

        access_rules.register()
