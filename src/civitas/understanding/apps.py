from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UnderstandingConfig(AppConfig):
    name = "civitas.understanding"
    label = "understanding"
    verbose_name = _("Understanding appeals")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from civitas.kit import scheduler

        scheduler.register("understanding.retrain", 86400, "civitas.understanding.tasks.retrain")
