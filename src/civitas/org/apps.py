from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "civitas.org"
    label = "org"
    verbose_name = _("Organisation and people")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from civitas.org import access

        access.register_defaults()
