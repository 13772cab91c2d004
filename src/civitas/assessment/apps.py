from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssessmentConfig(AppConfig):
    name = "civitas.assessment"
    label = "assessment"
    verbose_name = _("Assessment")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from civitas.assessment import access_rules, tasks

        access_rules.register()
        tasks.register()
