from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KitConfig(AppConfig):
    name = "civitas.kit"
    label = "kit"
    verbose_name = _("Audit")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from civitas.kit import scheduler

        scheduler.register("kit.outbox", 60, "civitas.kit.outbox.deliver")
        scheduler.register("kit.prune", 86400, "civitas.kit.scheduler.prune")
