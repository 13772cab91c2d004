from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from civitas.geo.gazetteer import gazetteer
from tests.factories import member


@pytest.mark.django_db
class TestGazetteer:
    def test_full_chinese_name(self, city: dict[str, Any]) -> None:
        best = gazetteer().best("我住在北2区榆树21街道，楼下噪音很大")
        assert best is not None and best.code == "T-D2-S1"
        assert best.confidence >= 0.9

    def test_english_name_case_insensitive(self, city: dict[str, Any]) -> None:
        best = gazetteer().best("Broken lift at oak 112 community, please help")
        assert best is not None and best.code == "T-D1-S1-C2"

    def test_alias_and_code(self, city: dict[str, Any]) -> None:
        assert gazetteer().best("A2的投诉").code == "T-D2"  # type: ignore[union-attr]
        assert gazetteer().best("see T-D1-S2 for details").code == "T-D1-S2"  # type: ignore[union-attr]

    def test_short_form_scores_lower_than_full_name(self, city: dict[str, Any]) -> None:
        mentions = {m.code: m for m in gazetteer().find("榆树11有问题，也在北1区")}
        assert mentions["T-D1-S1"].confidence < mentions["T-D1"].confidence
        # ...but a short form supported by its district is believed enough to be the answer.
        assert gazetteer().best("榆树11有问题，也在北1区").code == "T-D1-S1"  # type: ignore[union-attr]

    def test_most_specific_consistent_answer(self, city: dict[str, Any]) -> None:
        best = gazetteer().best("北1区 橡树121社区")
        assert best is not None and best.code == "T-D1-S2-C1"

    def test_latin_names_need_word_boundaries(self, city: dict[str, Any]) -> None:
        assert gazetteer().find("Testvilleborough") == []

    def test_nothing_found(self, city: dict[str, Any]) -> None:
        assert gazetteer().best("天气很好") is None
        assert gazetteer().find("") == []

    def test_rebuilt_after_changes(self, city: dict[str, Any]) -> None:
        from django.db import transaction

        from civitas.geo import services

        assert gazetteer().best("Riverside") is None
        with transaction.atomic():
            services.save_jurisdiction(
                actor="t",
                code="T-D1",
                level=city["levels"]["district"],
                parent=city["T"],
                name_en="North 1 District",
                name_zh="北1区",
                aliases=["Riverside"],
                boundary=city["T-D1"].boundary,
            )
        assert gazetteer().best("Riverside").code == "T-D1"  # type: ignore[union-attr]

    def test_api(self, city: dict[str, Any]) -> None:
        client = Client()
        client.force_login(member("r", "resident"))
        body = client.get("/api/gazetteer", {"text": "北2区的路灯坏了"}).json()
        assert body["best"]["code"] == "T-D2"
        assert body["mentions"][0]["matched"] == "北2区"
