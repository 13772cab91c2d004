"""kit.redact.anonymise: personal data removed for good, known names become labels."""

from __future__ import annotations

from civitas.kit.redact import anonymise, anonymise_data

ZH = {"张三": "Applicant 1"}


def test_chinese_text_loses_names_numbers_and_doors() -> None:
    text = (
        "张三电话13812345678，住芙蓉路12号3栋2单元501室，身份证430102199001011234，"
        "张先生说老张不在。车牌湘A12345，卡号6222 0212 3456 7890 123，座机0731-88881234。"
    )
    out = anonymise(text, ZH)
    for gone in ("张", "13812345678", "501", "430102", "湘A", "6222", "88881234"):
        assert gone not in out, gone
    assert out.startswith("Applicant 1电话[phone]，住芙蓉路*号*栋*单元*室")
    assert "[ID number]" in out and "[plate]" in out and "[number]" in out
    assert anonymise(out, ZH) == out  # idempotent


def test_latin_names_in_any_order_and_case_and_two_letter_surnames() -> None:
    names = {"John Smith": "Applicant 1", "Li Lei": "Respondent 1"}
    text = "JOHN SMITH (john.smith@example.com, 617-555-1234) met Mr Li at 12 Main Street, Apt 5B."
    out = anonymise(text, names)
    assert out == ("Applicant 1 ([e-mail], [phone]) met Mr Respondent 1 at * Main Street, Apt *.")
    # A two-letter surname only as written: the word "li" in lower case is not a name.
    assert anonymise("li is not a name here", names) == "li is not a name here"


def test_exact_phrases_and_json_data() -> None:
    exact = {"Oak Road 1, flat 201": "[address of Applicant 1]"}
    assert anonymise("Met at oak road 1, flat 201.", None, exact) == (
        "Met at [address of Applicant 1]."
    )
    data = {"note": "张三 13812345678", "n": 3, "list": ["张先生"], "张三": True}
    assert anonymise_data(data, ZH) == {
        "note": "Applicant 1 [phone]",
        "n": 3,
        "list": ["Applicant 1"],
        "张三": True,  # keys are kept: they are our own field names
    }


def test_statistics_like_text_survives() -> None:
    text = "Case CS20261127000123 resolved on 2026-11-27, 800 yuan, 3 visits."
    assert anonymise(text, ZH) == text


def test_labels_are_put_in_as_written_never_read_as_patterns() -> None:
    # A label (translated, or an address's) holding a backslash or a group reference.
    names = {"Bob Ward": r"Label \1 \g<0>"}
    assert anonymise("Mr Ward met Bob", names) == r"Mr Label \1 \g<0> met Label \1 \g<0>"
    exact = {"Oak Road 1": r"[address \2]"}
    assert anonymise("at Oak Road 1", None, exact) == r"at [address \2]"
