from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipationConfig(AppConfig):
    name = "civitas.participation"
    label = "participation"
    verbose_name = _("Participation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from civitas.participation import access_rules

        access_rules.register()
        from civitas.participation import retention

        retention.register()  # its part of anonymising old appeals
        from civitas.kit import scheduler

        scheduler.register(
            "participation.close_consultations",
            300,
            "civitas.participation.consultations.close_due",
        )
        scheduler.register(
            "participation.suggestions_overdue",
            3600,
            "civitas.participation.suggestions.flag_overdue",
        )
