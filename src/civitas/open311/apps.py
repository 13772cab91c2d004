from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class Open311Config(AppConfig):
    name = "civitas.open311"
    label = "open311"
    verbose_name = _("Open311 GeoReport v2")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from civitas.appeals.signals import case_moved
        from civitas.kit import scheduler
        from civitas.open311 import handoff

        case_moved.connect(handoff.on_case_moved, dispatch_uid="open311.handoff")
        # Handoffs to outside systems are sent and polled every minute; each handoff keeps
        # its own next-attempt time, so backoff and poll periods are per case.
        scheduler.register("open311.handoffs", 60, "civitas.open311.tasks.run_handoffs")
        scheduler.register("open311.tokens", 60, "civitas.open311.tasks.run_pending")
