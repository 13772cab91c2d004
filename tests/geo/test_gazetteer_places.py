"""The gazetteer on made-up places, without the database."""

from __future__ import annotations

import pytest

from civitas.geo.gazetteer import COMMON, FULL, SHORT, Gazetteer, Mention, Place


def _places() -> list[Place]:
    def p(code: str, zh: str, en: str, level: str, aliases: tuple[str, ...] = ()) -> Place:
        chain = code.split("-")
        path = "/" + "/".join("-".join(chain[: i + 1]) for i in range(len(chain))) + "/"
        rank = {"city": 0, "district": 1, "street": 2}[level]
        return Place(code, zh, en, aliases, level, rank, path)

    return [
        p("C", "枫亭市", "Fengting City", "city", ("Q市",)),
        p("C-1", "桐溪区", "Tongxi District", "district", ("Q1",)),
        p("C-2", "柳塘县", "Liutang County", "district", ("Q2",)),
        p("C-3", "枫亭县", "Fengting County", "district", ("Q3",)),
        p("C-1-1", "梓木街道", "Zimu Subdistrict", "street"),
        p("C-1-2", "杉坝镇", "Shanba Town", "street"),
        p("C-1-3", "资福镇", "Zifu Town", "street"),
        p("C-2-1", "杉坝街道", "Shanba Subdistrict", "street"),
        p("C-2-2", "榕岗街道", "Ronggang Subdistrict", "street"),
        p("C-2-3", "路口镇", "Lukou Town", "street"),
    ]


@pytest.fixture(scope="module")
def g() -> Gazetteer:
    return Gazetteer(_places())


def found(g: Gazetteer, text: str) -> dict[str, Mention]:
    return {m.code: m for m in g.find(text)}


def code(m: Mention | None) -> str | None:
    return m.code if m else None


class TestNames:
    def test_a_full_street_name_answers_with_the_street(self, g: Gazetteer) -> None:
        best = g.best("梓木街道的路灯坏了一个月")
        assert best is not None and best.code == "C-1-1" and best.confidence == FULL
        # the street implies its district
        assert best.path == "/C/C-1/C-1-1/"

    def test_english_names_need_word_boundaries(self, g: Gazetteer) -> None:
        assert code(g.best("Noise in Tongxi District at night")) == "C-1"
        assert g.find("NotTongxi Districts") == []

    def test_a_short_form_is_found_at_a_lower_confidence(self, g: Gazetteer) -> None:
        assert found(g, "梓木有噪音")["C-1-1"].confidence == SHORT
        assert found(g, "桐溪的学校")["C-1"].confidence == SHORT
        assert found(g, "桐溪的学校")["C-1"].kind == "short"

    def test_a_short_form_supported_by_its_district_gains(self, g: Gazetteer) -> None:
        alone = found(g, "梓木有噪音")["C-1-1"].confidence
        assert found(g, "桐溪区梓木有噪音")["C-1-1"].confidence > alone
        assert code(g.best("桐溪区梓木有噪音")) == "C-1-1"

    def test_naming_the_city_alone_supports_nothing(self, g: Gazetteer) -> None:
        # every text of a city names the city: it settles no street
        assert found(g, "Q市梓木有噪音")["C-1-1"].confidence == SHORT

    def test_nothing_found(self, g: Gazetteer) -> None:
        assert g.best("天气很好") is None
        assert g.find("") == []
        assert Gazetteer([]).best("梓木") is None


class TestCodes:
    def test_a_code_with_an_administrative_suffix_is_the_district(self, g: Gazetteer) -> None:
        best = g.best("Q市Q1区梓木小区电梯坏了")
        assert best is not None and best.code == "C-1-1"
        assert code(g.best("投诉Q2县某小区噪音")) == "C-2"
        assert found(g, "Q2县")["C-2"].confidence >= 0.9

    def test_the_city_code_is_the_city(self, g: Gazetteer) -> None:
        best = g.best("Q市的公交太挤")
        assert best is not None and best.code == "C"

    def test_a_bare_code_counts_less(self, g: Gazetteer) -> None:
        bare = found(g, "Q1的投诉")["C-1"].confidence
        assert 0.5 <= bare < found(g, "Q1区的投诉")["C-1"].confidence

    def test_a_code_before_a_building_word_is_no_place(self, g: Gazetteer) -> None:
        assert g.find("住在Q1栋三楼") == []
        assert g.find("用Q2纸打印") == []

    def test_codes_keep_their_case(self, g: Gazetteer) -> None:
        assert g.find("q1区") == []

    def test_a_road_named_after_the_district_needs_support(self, g: Gazetteer) -> None:
        # "Q1区路" is a road named after the district and may run outside it
        assert found(g, "Q1区路的红绿灯")["C-1"].confidence == COMMON
        assert g.best("Q1区路的红绿灯") is None
        assert code(g.best("Q1区路的红绿灯，Q2县")) == "C-2"


class TestAmbiguity:
    def test_a_street_name_shared_by_two_districts_is_ambiguous(self, g: Gazetteer) -> None:
        hits = found(g, "杉坝的菜市场很脏")
        assert {"C-1-2", "C-2-1"} <= set(hits)
        assert all(hits[c].confidence < 0.5 for c in ("C-1-2", "C-2-1"))
        assert g.best("杉坝的菜市场很脏") is None

    def test_naming_the_district_settles_a_shared_street_name(self, g: Gazetteer) -> None:
        assert code(g.best("柳塘县杉坝的菜市场很脏")) == "C-2-1"
        assert code(g.best("Q1区杉坝的菜市场很脏")) == "C-1-2"
        assert found(g, "柳塘县杉坝的菜市场")["C-2-1"].confidence > SHORT

    def test_a_name_of_a_place_and_its_ancestor_reads_as_the_ancestor(self, g: Gazetteer) -> None:
        # 枫亭 is short for the city 枫亭市 and for the county 枫亭县
        hits = found(g, "枫亭的房价")
        assert hits["C"].confidence > hits["C-3"].confidence
        assert code(g.best("枫亭的房价")) == "C"
        assert code(g.best("枫亭县的房价")) == "C-3"

    def test_two_districts_named_alike_give_the_city(self, g: Gazetteer) -> None:
        best = g.best("桐溪区和柳塘县之间的公路")
        assert best is not None and best.code == "C" and best.kind == "implied"
        # even where a lowered answer would pass the threshold, a contest gives the city
        assert code(g.best("桐溪区和柳塘县之间的公路", min_confidence=0.3)) == "C"
        # ...and two streets of one district give the district
        best = g.best("梓木街道到资福镇的公交")
        assert best is not None and best.code == "C-1" and best.kind == "implied"

    def test_a_weaker_contradiction_lowers_the_confidence(self, g: Gazetteer) -> None:
        clear = g.best("桐溪区的小区停水")
        contradicted = g.best("桐溪区的小区停水，物业在榕岗")
        assert clear is not None and contradicted is not None
        assert clear.code == contradicted.code == "C-1"
        assert contradicted.confidence < clear.confidence

    def test_the_place_named_more_often_wins(self, g: Gazetteer) -> None:
        text = "桐溪区教师招聘不公平，桐溪区只给一次机会，柳塘县就不这样，桐溪区应改正"
        assert code(g.best(text)) == "C-1"


class TestFalseHits:
    def test_a_short_form_that_is_a_common_word_needs_support(self, g: Gazetteer) -> None:
        # 路口 (crossroads) is also the short form of 路口镇
        assert found(g, "十字路口的红绿灯坏了")["C-2-3"].confidence == COMMON
        assert g.best("十字路口的红绿灯坏了") is None
        assert found(g, "柳塘县，路口的红绿灯坏了")["C-2-3"].confidence > 0.5
        assert code(g.best("路口镇的红绿灯坏了")) == "C-2-3"

    def test_a_short_form_across_two_common_words_is_no_hit(self, g: Gazetteer) -> None:
        # 资福 inside 工资福利 (wages and benefits)
        assert "C-1-3" not in found(g, "拖欠工资福利待遇")
        assert "C-1-3" in found(g, "资福的桥塌了")

    def test_a_text_about_another_city_believes_short_forms_less(self, g: Gazetteer) -> None:
        assert code(g.best("K3县梓木村的路没修好")) is None
        assert code(g.best("Q市梓木村的路没修好，K3县也是")) == "C-1-1"
        assert code(g.best("K3县梓木街道的路没修好")) == "C-1-1"  # a full name still counts


class TestFromJurisdictions:
    def test_places_keep_codes_levels_and_paths(self) -> None:
        class Level:
            code, rank = "district", 1

        class Row:
            code, name_zh, name_en, aliases, path = "X-1", "桐溪区", "Tongxi", ["Q1"], "/X/X-1/"
            level = Level()

        g = Gazetteer.from_jurisdictions([Row()])  # type: ignore[list-item]
        best = g.best("Q1区的投诉")
        assert best is not None
        assert (best.code, best.level, best.rank, best.path) == ("X-1", "district", 1, "/X/X-1/")
