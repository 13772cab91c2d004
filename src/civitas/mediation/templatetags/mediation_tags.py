"""Small template helpers of the mediation pages."""

from __future__ import annotations

from django import template

from civitas.mediation.views_common import ACTION_TITLES

register = template.Library()


@register.simple_tag
def action_title(action: str) -> str:
    return str(ACTION_TITLES.get(action, action))
