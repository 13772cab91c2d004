from __future__ import annotations

from django.utils import translation

from civitas.web.templatetags.civitas_format import actor


def test_audit_labels_read_as_words() -> None:
    assert actor("user:14:analyst-street") == "analyst-street"
    assert actor("apikey:3:Traffic feed") == "API key “Traffic feed”"
    assert actor("system") == "the system"
    assert actor("test") == "test"
    assert actor(None) == ""
    with translation.override("zh-hans"):
        assert actor("system") != "the system"
