from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MattersConfig(AppConfig):
    name = "civitas.matters"
    label = "matters"
    verbose_name = _("Matters")
    default_auto_field = "django.db.models.BigAutoField"
