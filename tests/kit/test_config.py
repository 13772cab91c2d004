from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from civitas.kit.config import ConfigError, load

GOOD_KEY = "k3y-" + "abcdefghijklmnopqrstuvwxyz0123456789"
# Production needs an encryption key too (civitas.kit.crypto).
ENC = {"CIVITAS_ENCRYPTION_KEYS": "wM3kQ0b7Yt2m5Jt0cVx8T1d0M0Zr4l3V2eH1o6g9aQc="}


class TestConfig:
    def test_defaults(self, tmp_path: Path) -> None:
        cfg = load({"SECRET_KEY": GOOD_KEY, **ENC}, cwd=tmp_path)
        assert cfg.database_url == f"sqlite:///{tmp_path.resolve()}/var/civitas.sqlite3"
        assert cfg.language_code == "en" and not cfg.debug
        assert cfg.data_dir is None  # no ../shared/data beside tmp_path

    def test_data_default_is_the_shared_folder_when_present(self, tmp_path: Path) -> None:
        (tmp_path / "shared" / "data").mkdir(parents=True)
        (tmp_path / "proj").mkdir()
        cfg = load({"SECRET_KEY": GOOD_KEY, **ENC}, cwd=tmp_path / "proj")
        assert cfg.data_dir == (tmp_path / "shared" / "data").resolve()

    @pytest.mark.parametrize(
        "key", ["", "changeme", "short", "django-insecure-" + "x" * 40, "a" * 60]
    )
    def test_insecure_secret_is_refused_outside_debug(self, key: str, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="SECRET_KEY"):
            load({"SECRET_KEY": key}, cwd=tmp_path)

    def test_debug_allows_a_development_key(self, tmp_path: Path) -> None:
        assert load({"CIVITAS_DEBUG": "1"}, cwd=tmp_path).debug

    def test_every_problem_is_reported_at_once(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as err:
            load(
                {
                    "SECRET_KEY": GOOD_KEY,
                    **ENC,
                    "DATABASE_URL": "mysql://x",
                    "LANGUAGE_CODE": "fr",
                    "TIME_ZONE": "Mars/Olympus",
                    "CIVITAS_DATA": str(tmp_path / "nope"),
                },
                cwd=tmp_path,
            )
        text = str(err.value)
        for name in ("DATABASE_URL", "LANGUAGE_CODE", "TIME_ZONE", "CIVITAS_DATA"):
            assert name in text
        assert len(err.value.problems) == 4

    def test_chinese_language_codes(self, tmp_path: Path) -> None:
        assert (
            load({"CIVITAS_DEBUG": "1", "LANGUAGE_CODE": "zh-hans"}, cwd=tmp_path).language_code
            == "zh-hans"
        )
        assert (
            load({"CIVITAS_DEBUG": "1", "LANGUAGE_CODE": "zh-CN"}, cwd=tmp_path).language_code
            == "zh-hans"
        )

    def test_wildcard_hosts_refused_in_production(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="ALLOWED_HOSTS"):
            load({"SECRET_KEY": GOOD_KEY, **ENC, "ALLOWED_HOSTS": "*"}, cwd=tmp_path)

    def test_the_command_refuses_to_start_with_a_clear_message(self, tmp_path: Path) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "civitas", "check"],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "changeme"},
            capture_output=True,
            text=True,
        )
        assert result.returncode == 2
        assert "SECRET_KEY is insecure" in result.stderr
        assert "Traceback" not in result.stderr


def test_numeric_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load(
            {
                "CIVITAS_DEBUG": "1",
                "CIVITAS_AUTO_CLOSE_DAYS": "seven",
                "CIVITAS_SMS_TIMEOUT": "-1",
                "CIVITAS_EMAIL_PORT": "25",
            },
            cwd=tmp_path,
        )
    assert len(err.value.problems) == 2
    assert "CIVITAS_AUTO_CLOSE_DAYS" in str(err.value) and "CIVITAS_SMS_TIMEOUT" in str(err.value)
