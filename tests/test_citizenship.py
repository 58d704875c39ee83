"""Citizenship category classification (tiplens.harmonise.citizenship)."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from tiplens.harmonise import citizenship, countries

DIMENSIONS = ["by citizenship", "by country of repatriation"]
FFFD = "\ufffd"


def one(value) -> dict:
    table = citizenship.classify([value])
    assert len(table) == 1
    return table.iloc[0].to_dict()


# (label as in the GLOTIP files, expected ISO3, expected class), each checked by hand.
PINNED = [
    # misspelt demonym of Tanzania (reported by Tanzania, 2025 release)
    ("TAZANIANS", "TZA", "country"),
    # Spanish name of Cambodia
    ("CAMBOYA", "KHM", "country"),
    # Niger reports 'Nigerin' for its own nationals; values equal the 2023 rows labelled 'Niger'
    ("Nigerin", "NER", "country"),
    # Nigeria, not Niger
    ("Nigerian", "NGA", "country"),
    # Equatorial Guinea: country_converter answers GIN (Guinea), the alias table corrects it
    ("GUINEA ECUATORIAL", "GNQ", "country"),
    # Guinea and Guinea-Bissau stay apart
    ("Guinea", "GIN", "country"),
    ("Guinea-Bissau", "GNB", "country"),
    # UN short name of the Republic of the Congo; DR Congo is written out
    ("Congo", "COG", "country"),
    ("Congolese (DRC)", "COD", "country"),
    # Dominican Republic, not Dominica
    ("Dominican rep", "DOM", "country"),
    ("North Korean", "PRK", "country"),
    # Spanish for South Korea
    ("Corea del Sur", "KOR", "country"),
    # a nationality adjective country_converter does not know
    ("Thai", "THA", "country"),
    # country_converter maps it to CZE; it is Czechia or Slovakia, unspecified
    ("Former Czechoslovakia", None, "region"),
    # the Netherlands reporting its own nationals
    ("Netherlands (own country)", "NLD", "domestic"),
    ("Nationals", None, "domestic"),
    ("Abroad", None, "foreign_unspecified"),
    ("European Economic Area", None, "bloc"),
    # Spanish 'unknown' (Panama)
    ("DESCONOCIDA", None, "unknown"),
    # Spanish 'others' (Argentina 2017)
    ("OTROS", None, "other"),
    # Spanish 'total per year' (Guatemala 2017)
    ("TOTAL POR AÑO", None, "total"),
    # Central African Republic or UNODC's code for the Caribbean: left unmapped on purpose
    ("CAR", None, "unmapped"),
]


@pytest.mark.parametrize(("label", "iso3", "cls"), PINNED)
def test_pinned_mappings(label, iso3, cls):
    row = one(label)
    assert (row["category_iso3"], row["category_class"]) == (iso3, cls)
    assert row["mojibake"] is None


def test_lookup_ignores_case_and_spacing():
    assert one("  tazanians ")["category_iso3"] == "TZA"
    assert one("Ciudadanos   de su país")["category_class"] == "domestic"


def test_blank_categories_are_unknown():
    table = citizenship.classify(["", None, float("nan"), "Chile"])
    assert list(table["value"]) == ["", None, "Chile"]
    blank = table[table["value"] != "Chile"]
    assert set(blank["category_class"]) == {"unknown"}
    assert set(blank["note"]) == {"blank category"}


def test_replacement_character_repaired_against_vocabulary():
    row = one(f"Ciudadanos de su pa{FFFD}s")
    assert row["repaired"] == "Ciudadanos de su país"
    assert row["mojibake"] == "repaired"
    assert row["category_class"] == "domestic"
    assert row["note"].startswith("matched by pattern against Ciudadanos de su país")


@pytest.mark.parametrize(("label", "repaired", "iso3"), [
    (f"ESPA{FFFD}A", "ESPAÑA", "ESP"),           # case of the text is kept
    (f"Espa{FFFD}a", "España", "ESP"),
    (f"Salvadore{FFFD}a", "Salvadoreña", "SLV"),  # the alias is upper case, the text is not
    (f"C{FFFD}TE D'IVOIRE", "CÔTE D'IVOIRE", "CIV"),  # matched against country_converter's name
    (f"C{FFFD}te d{FFFD}Ivoire", "Côte d’Ivoire", "CIV"),  # two lost characters, typographic apostrophe
    (f"Hait{FFFD}", "Haití", "HTI"),  # 'Haiti' does not compete: a lost character is never ASCII
])
def test_replacement_character_cases(label, repaired, iso3):
    row = one(label)
    assert (row["repaired"], row["mojibake"], row["category_iso3"]) == (repaired, "repaired", iso3)


def test_double_encoding_repaired():
    row = one("TÃ¼rkiye")  # as in the 2023 release
    assert (row["repaired"], row["mojibake"], row["category_iso3"]) == ("Türkiye", "repaired", "TUR")
    assert one("CÃ´te d'Ivoire")["repaired"] == "Côte d'Ivoire"


def test_clean_text_is_not_flagged():
    for label in ("España", "Côte d'Ivoire", "Albania"):
        row = one(label)
        assert row["mojibake"] is None and row["repaired"] == label


def test_unrecoverable_replacement_character():
    row = one(f"Zq{FFFD}rtland")
    assert row["mojibake"] == "unrecoverable"
    assert row["repaired"] == f"Zq{FFFD}rtland"
    assert row["category_class"] == "unmapped"


def test_several_fitting_spellings(monkeypatch):
    vocabulary = {4: [("fooá", "Fooá"), ("fooé", "Fooé"), ("barú", "Barú"), ("barí", "Barí")]}
    lookup = {"fooá": {"iso3": None, "class": "region", "note": "a"},
              "fooé": {"iso3": None, "class": "region", "note": "b"},
              "barú": {"iso3": None, "class": "region", "note": "c"},
              "barí": {"iso3": None, "class": "bloc", "note": "d"}}
    monkeypatch.setattr(citizenship, "_vocabulary_by_length", lambda: vocabulary)
    monkeypatch.setattr(citizenship, "_alias_lookup", lambda: lookup)
    monkeypatch.setattr(citizenship, "_CACHE", {})
    table = citizenship.classify([f"Foo{FFFD}", f"Bar{FFFD}"]).set_index("value")
    # the text cannot be restored, but every spelling that fits means the same
    same = table.loc[f"Foo{FFFD}"]
    assert (same["mojibake"], same["category_class"]) == ("unrecoverable", "region")
    assert "Fooá, Fooé" in same["note"]
    differ = table.loc[f"Bar{FFFD}"]
    assert (differ["mojibake"], differ["category_class"]) == ("unrecoverable", "unmapped")


def test_questionnaire_codes_and_numbers_unmapped():
    table = citizenship.classify(["Q6.1_10s_2019", "145"])
    assert set(table["category_class"]) == {"unmapped"}
    assert "questionnaire cell code" in table["note"].iloc[0]


def test_unmapped_counts_rows():
    table = citizenship.unmapped(["CAR", "CAR", "Chile", "PERO", None])
    assert list(zip(table["value"], table["rows"])) == [("CAR", 2), ("PERO", 1)]


# ---- the alias table -------------------------------------------------------------------------

def test_alias_table_is_well_formed():
    table = citizenship.aliases()
    assert list(table.columns) == ["alias", "iso3", "class", "language", "note"]
    keys = table["alias"].map(lambda a: " ".join(a.split()).casefold())
    assert not keys.duplicated().any(), sorted(table.loc[keys.duplicated(), "alias"])
    assert set(table["class"]) <= set(citizenship.CLASSES)
    coco_iso3 = set(countries._coco_table()["ISO3"])
    with_code = table[table["iso3"] != ""]
    assert set(with_code["iso3"]) <= coco_iso3, sorted(set(with_code["iso3"]) - coco_iso3)
    # a country row names its country; only domestic rows may also carry one
    assert (table.loc[table["class"] == "country", "iso3"] != "").all()
    assert set(with_code["class"]) <= {"country", "domestic"}
    # every deliberate refusal says why
    assert (table.loc[table["class"] == "unmapped", "note"] != "").all()
    assert (table["language"] != "").all()


def test_alias_table_has_no_replacement_characters():
    table = citizenship.aliases()
    assert not table.apply(lambda col: col.str.contains(FFFD)).any().any()


# ---- the real files ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def glotip_categories(real_data):
    folder = real_data / "unodc_glotip"
    new = pd.read_csv(folder / "data_glotip_2025-04-14.csv", dtype=str, keep_default_na=False)
    old = pd.read_excel(folder / "data_glotip_2023-05-30.xlsx", engine="calamine", skiprows=2, dtype=str)
    return {
        "2025": new.loc[new["Dimension"].isin(DIMENSIONS), "Category"],
        "2023": old.loc[old["Dimension"].isin(DIMENSIONS), "Category"],
    }


# measured on the real files: {class: (distinct labels, rows)}
CLASS_COUNTS = {
    "2025": {"country": (629, 10851), "domestic": (5, 320), "foreign_unspecified": (3, 375),
             "region": (15, 36), "bloc": (2, 5), "unknown": (12, 246), "other": (9, 24),
             "total": (2, 6), "unmapped": (69, 148)},
    "2023": {"country": (386, 8676), "domestic": (5, 278), "foreign_unspecified": (2, 327),
             "region": (12, 33), "bloc": (2, 7), "unknown": (10, 193), "other": (8, 20),
             "total": (2, 2), "unmapped": (5, 16)},
}


@pytest.mark.realdata
@pytest.mark.parametrize("release", ["2025", "2023"])
def test_every_real_label_is_classified(glotip_categories, release):
    labels = glotip_categories[release]
    table = citizenship.classify(labels)
    assert set(table["category_class"]) <= set(citizenship.CLASSES)
    by_value = dict(zip(table["value"], table["category_class"]))
    rows = labels.map(lambda v: by_value[None if v is None or v != v else v])
    measured = {cls: (int((table["category_class"] == cls).sum()), int((rows == cls).sum()))
                for cls in citizenship.CLASSES}
    assert measured == CLASS_COUNTS[release]


@pytest.mark.realdata
def test_real_unmapped_labels(glotip_categories):
    new = citizenship.unmapped(glotip_categories["2025"])
    # 60 questionnaire cell codes (Pakistan 2019-2021, 2 rows each), 5 bare numbers, 4 reviewed refusals
    assert (len(new), int(new["rows"].sum())) == (69, 148)
    assert {"CAR", "PERO", "Nationality", "without"} <= set(new["value"])
    old = citizenship.unmapped(glotip_categories["2023"])
    assert sorted(old["value"]) == ["0", "Congolese", "Nationality", "PERO", "without"]


@pytest.mark.realdata
def test_real_blank_and_mojibake(glotip_categories):
    table = citizenship.classify(glotip_categories["2025"])
    blank = table[table["value"] == ""].iloc[0]
    assert (blank["category_class"], blank["note"]) == ("unknown", "blank category")
    assert int((glotip_categories["2025"] == "").sum()) == 120  # PROVENANCE note 7
    # every U+FFFD label in both releases is repaired against the vocabulary
    for labels in glotip_categories.values():
        damaged = citizenship.classify(labels[labels.str.contains(FFFD, na=False)])
        assert set(damaged["mojibake"]) == {"repaired"}


@pytest.mark.realdata
def test_repeat_call_is_fast(glotip_categories):
    labels = glotip_categories["2025"]
    citizenship.classify(labels)
    start = time.perf_counter()
    citizenship.classify(labels.unique())
    assert time.perf_counter() - start < 0.3
