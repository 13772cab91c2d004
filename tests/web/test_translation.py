"""The Simplified Chinese translation: complete, compiled, and used by the pages."""

from __future__ import annotations

import ast
import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from django.utils.translation import trans_real

import civitas
from civitas.org.models import Role
from tests import factories

SRC = Path(civitas.__file__).resolve().parent
PO = SRC / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


@pytest.fixture(scope="session")
def compiled_messages() -> Iterator[None]:
    """Compile the .mo when it is missing or older than the .po (`make install` builds it)."""
    lock_path = Path(tempfile.gettempdir()) / "civitas-compilemessages.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers may get here together
        try:
            if not MO.exists() or MO.stat().st_mtime < PO.stat().st_mtime:
                here = Path.cwd()
                os.chdir(SRC)
                try:
                    call_command("compilemessages", verbosity=0)
                finally:
                    os.chdir(here)
                # Forget catalogues loaded before the .mo existed.
                trans_real._translations = {}
                trans_real._default = None
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    yield


def _entries() -> list[dict[str, Any]]:
    """The .po entries as dicts: flags, msgid, msgid_plural, msgstr (msgstr[n] under msgstr)."""
    entries: list[dict[str, Any]] = []
    for block in re.split(r"\n\s*\n", PO.read_text(encoding="utf-8")):
        entry: dict[str, Any] = {"flags": set(), "msgstr": {}}
        key: tuple[str, ...] | None = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] |= {f.strip() for f in line[2:].split(",")}
                continue
            if line.startswith("#"):
                continue
            m = re.match(r"^(msgctxt|msgid|msgid_plural|msgstr)(?:\[(\d+)\])? (\".*\")$", line)
            if m:
                key = ("msgstr", m.group(2) or "0") if m.group(1) == "msgstr" else (m.group(1),)
                text = ast.literal_eval(m.group(3))
            elif line.startswith('"') and key is not None:
                text = ast.literal_eval(line)
            else:
                continue
            if key[0] == "msgstr":
                entry["msgstr"][key[1]] = entry["msgstr"].get(key[1], "") + text
            else:
                entry[key[0]] = entry.get(key[0], "") + text
        if "msgid" in entry:
            entries.append(entry)
    return entries


def test_every_message_is_translated_and_none_is_fuzzy() -> None:
    entries = _entries()
    header = next(e for e in entries if e["msgid"] == "")
    assert "Plural-Forms: nplurals=1; plural=0;" in header["msgstr"]["0"]
    assert "Language: zh_Hans" in header["msgstr"]["0"]
    messages = [e for e in entries if e["msgid"]]
    assert len(messages) > 300
    untranslated = [e["msgid"] for e in messages if not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []


def test_placeholders_are_kept() -> None:
    pattern = re.compile(r"%\(\w+\)[sd]|\{\w*\}|</?\w+[^>]*>")
    for e in _entries():
        if not e["msgid"]:
            continue
        wanted = sorted(pattern.findall(e["msgid"]))
        for text in e["msgstr"].values():
            assert sorted(pattern.findall(text)) == wanted, e["msgid"]


def test_msgattrib_finds_nothing_untranslated() -> None:
    import shutil
    import subprocess

    if shutil.which("msgattrib") is None:
        pytest.skip("gettext tools are not installed")
    for option in ("--untranslated", "--only-fuzzy"):
        out = subprocess.run(
            ["msgattrib", option, "--no-obsolete", str(PO)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout == "", option


@pytest.mark.usefixtures("compiled_messages")
@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Sign in", "登录"),
        ("Sign out", "退出登录"),
        ("Responsibility list", "权责清单"),
        ("Dispatcher", "派单员"),
        ("Hotline operator", "话务员"),
        ("Unit handler", "承办人"),
        ("Grid worker", "网格员"),
        ("Street/township office", "街道（乡镇）办事处"),
        ("Audit", "审计"),
    ],
)
def test_key_strings_in_chinese(english: str, chinese: str) -> None:
    with translation.override("zh-hans"):
        assert translation.gettext(english) == chinese


@pytest.mark.usefixtures("compiled_messages")
def test_plural_form_in_chinese() -> None:
    with translation.override("zh-hans"):
        text = translation.ngettext("%(n)s unit", "%(n)s units", 3) % {"n": 3}
    assert text == "共3个单位"


@pytest.mark.usefixtures("compiled_messages")
def test_signed_in_page_in_chinese(city: dict[str, Any], _fast_passwords: None) -> None:
    user = factories.member("zh-dispatcher", Role.DISPATCHER, city["centre"])
    client = Client()
    client.force_login(user)
    client.cookies["civitas_language"] = "zh-hans"
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'lang="zh-hans"' in page
    assert "退出登录" in page
    assert "权责清单" in page
    assert "Sign out" not in page
