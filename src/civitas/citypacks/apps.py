from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CityPacksConfig(AppConfig):
    name = "civitas.citypacks"
    label = "citypacks"
    verbose_name = _("City packs")
