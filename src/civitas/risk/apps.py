from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskConfig(AppConfig):
    name = "civitas.risk"
    label = "risk"
    verbose_name = _("Risk research and judgment")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from civitas.risk import access_rules, admin_stability  # noqa: F401 (registers admin)

        access_rules.register()

        # Imminent harm: harm_step (a triage step) flags the appeal; once it has its key, this
        # receiver stores the alert in the intake's own transaction.
        from django.db.models.signals import post_save

        from civitas.appeals.models import Appeal
        from civitas.risk import harm

        post_save.connect(harm.on_appeal_saved, sender=Appeal, dispatch_uid="risk.harm_alert")

        from civitas.kit import scheduler

        scheduler.register("risk.scan_daily", 86400, "civitas.risk.tasks.scan_daily")
        scheduler.register("risk.scan_recent", 900, "civitas.risk.tasks.scan_recent")
