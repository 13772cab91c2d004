from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppealsConfig(AppConfig):
    name = "civitas.appeals"
    label = "appeals"
    verbose_name = _("Appeals")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from civitas.appeals import access_rules, receivers  # noqa: F401 (receivers: geo moves)

        access_rules.register()

        from civitas.kit import scheduler

        scheduler.register("appeals.deadlines", 60, "civitas.appeals.tasks.check_deadlines")
        scheduler.register("appeals.auto_close", 3600, "civitas.appeals.tasks.auto_close_due")
        scheduler.register("appeals.retention", 86400, "civitas.appeals.retention.scheduled")
