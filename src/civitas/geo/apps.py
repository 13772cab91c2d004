from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GeoConfig(AppConfig):
    name = "civitas.geo"
    label = "geo"
    verbose_name = _("Jurisdictions")
    default_auto_field = "django.db.models.BigAutoField"
