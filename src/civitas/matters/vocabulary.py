"""Kinds of government departments, shared by the catalogue and the organisation model."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DepartmentType(models.TextChoices):
    STREET_OFFICE = "street_office", _("Street/township office")
    DISTRICT_OFFICE = "district_office", _("District/county government")
    COMMUNITY = "community", _("Community committee")
    HOUSING = "housing", _("Housing and urban-rural development")
    TRANSPORT = "transport", _("Transport")
    ENVIRONMENT = "environment", _("Ecology and environment")
    MARKET_SUPERVISION = "market_supervision", _("Market supervision")
    PUBLIC_SECURITY = "public_security", _("Public security")
    HEALTH = "health", _("Health")
    CIVIL_AFFAIRS = "civil_affairs", _("Civil affairs")
    URBAN_MANAGEMENT = "urban_management", _("Urban management")
    WATER = "water", _("Water")
    EDUCATION = "education", _("Education")
    HUMAN_RESOURCES = "human_resources", _("Human resources and social security")
    NATURAL_RESOURCES = "natural_resources", _("Natural resources and planning")
    EMERGENCY = "emergency", _("Emergency management")
    CULTURE_TOURISM = "culture_tourism", _("Culture and tourism")
    AGRICULTURE = "agriculture", _("Agriculture and rural affairs")
    UTILITIES = "utilities", _("Utilities (power, gas, heating)")
    PARKS = "parks", _("Parks and greening")
    OTHER = "other", _("Other")
