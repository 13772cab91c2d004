from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediationConfig(AppConfig):
    name = "civitas.mediation"
    label = "mediation"
    verbose_name = _("Dispute mediation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from civitas.mediation import access_rules

        access_rules.register()
