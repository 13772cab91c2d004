"""Records named in both languages show the name of the active language."""

from __future__ import annotations

from django.utils.translation import get_language


def in_active_language(name_en: str, name_zh: str) -> str:
    return name_zh if (get_language() or "").startswith("zh") else name_en


class BilingualName:
    """Mixin for models with ``name_en`` and ``name_zh``: ``.name`` follows the language."""

    name_en: str
    name_zh: str

    @property
    def name(self) -> str:
        return in_active_language(self.name_en, self.name_zh)
