from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HubConfig(AppConfig):
    name = "civitas.hub"
    label = "hub"
    verbose_name = _("Data-sharing hub")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from civitas.hub import access_rules, receivers  # noqa: F401 (receivers: geo moves)

        access_rules.register()

        from civitas.kit import scheduler

        scheduler.register("hub.expire_grants", 3600, "civitas.hub.tasks.expire_grants")
        scheduler.register("hub.sweep_staged", 86400, "civitas.hub.tasks.sweep_staged")
