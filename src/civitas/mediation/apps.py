from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediationConfig(AppConfig):
    name = "civitas.mediation"
    label = "mediation"
    verbose_name = _("Dispute mediation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from civitas.mediation import access_rules, receivers  # noqa: F401 (receivers: geo moves)

        access_rules.register()

        from civitas.kit import scheduler

        scheduler.register(
            "mediation.escalate_overdue", 900, "civitas.mediation.tasks.escalate_overdue"
        )
        scheduler.register(
            "mediation.remind_follow_ups", 3600, "civitas.mediation.tasks.remind_follow_ups"
        )
        scheduler.register("mediation.retention", 86400, "civitas.mediation.retention.scheduled")

        from civitas.appeals import retention as appeal_retention
        from civitas.mediation import retention

        appeal_retention.register_keep("mediation", retention.appeals_kept)
