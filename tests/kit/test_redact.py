from __future__ import annotations

import pytest

from civitas.kit import redact


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("call me 13812345678 please", "call me 138****5678 please"),
        ("电话138-1234-5678谢谢", "电话138****5678谢谢"),
        ("+86 139 1234 5678", "+86 139****5678"),
        ("office 010-62345678", "office 010-****5678"),
        ("id 11010519491231002X end", "id 110*************2X end"),
        ("old 110105491231002", "old 110**********02"),
        ("mail zhang.san@example.com now", "mail z***@*** now"),
        (
            "nothing here: 30 trees, 2024 plan, room 1203",
            "nothing here: 30 trees, 2024 plan, room 1203",
        ),
        ("", ""),
    ],
)
def test_scrub(raw: str, expected: str) -> None:
    assert redact.scrub(raw) == expected


def test_scrub_hides_every_digit_run_of_a_phone() -> None:
    out = redact.scrub("a 13812345678 b 13987654321")
    assert "12345678" not in out and "87654321" not in out
    assert out == "a 138****5678 b 139****4321"


def test_scrub_leaves_no_digits_of_an_identity_number_in_a_sentence() -> None:
    out = redact.scrub("Wang Fang (tel 13800000001, ID 110101199003071234) says")
    assert "13800000001" not in out and "110101199003071234" not in out
    assert out == "Wang Fang (tel 138****0001, ID 110*************34) says"


def test_scrub_of_none_is_empty() -> None:
    assert redact.scrub(None) == ""  # type: ignore[arg-type]
