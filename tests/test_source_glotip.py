"""GLOTIP loader on the real releases; expected values read by hand from the files."""

from __future__ import annotations


import pandas as pd
import pytest

import tiplens as tl
from tiplens.errors import InputFileError
from tiplens.sources import glotip
from table_helpers import one_row

CSV_2025 = "unodc_glotip/data_glotip_2025-04-14.csv"
XLSX_2025 = "unodc_glotip/data_glotip_2025-04-14.xlsx"
XLSX_2023 = "unodc_glotip/data_glotip_2023-05-30.xlsx"


@pytest.fixture(scope="module")
def norm_2025(real_data):
    return glotip.normalise(glotip.read(real_data / CSV_2025))


@pytest.fixture(scope="module")
def store_both(real_data, tmp_path_factory):
    store = tl.open_store(tmp_path_factory.mktemp("glotip") / "s.duckdb", with_default=False)
    tl.ingest([real_data / XLSX_2025], db=store)
    tl.ingest([real_data / XLSX_2023], db=store)
    yield store
    store.close()


def test_2025_release_fully_accounted(norm_2025):
    # PROVENANCE.md: 58,769 data rows; 128 values above 100,000 are corrupt (120 questionnaire-code
    # rows for Pakistan + 8 '6,112,019'-type values).
    assert norm_2025.rows_read == 58_769
    assert len(norm_2025.quarantine) == 128
    assert norm_2025.rows_loaded == 58_769 - 128
    reasons = norm_2025.quarantine["reason"]
    assert reasons.str.contains("questionnaire cell code").sum() == 120
    assert reasons.str.contains("above 100,000").sum() == 128


def test_censored_cell_is_interval(norm_2025):
    # CSV line 47547: AUS, Detected trafficking victims, Total, Total, Male, Total, 2019, '<5' —
    # and line 47548 has the same key with 21: a conflict, both kept and flagged.
    rows = norm_2025.observations
    aus = rows[(rows.iso3 == "AUS") & (rows.indicator == "detected_victims") & (rows.dimension == "total")
               & (rows.sex == "Male") & (rows.age == "Total") & (rows.year == 2019)]
    assert sorted(aus["source_row"]) == [47547, 47548]
    assert set(aus["status"]) == {"conflict"}
    censored = aus[aus.censored].iloc[0]
    assert (censored.lower, censored.upper) == (0.0, 4.0) and pd.isna(censored.value)


def test_thousands_separator_and_largest_value(norm_2025):
    # CSV line 34479: PAK, Detected trafficking victims, Total, 2019, "32,022" (the largest real value).
    row = one_row(norm_2025.observations, iso3="PAK", indicator="detected_victims", dimension="total",
               sex="Total", age="Total", year=2019)
    assert (row.value, row.lower, row.upper, bool(row.censored)) == (32022.0, 32022.0, 32022.0, False)
    # CSV line 1250: ARG, Offences, Total, 2012, "1,757".
    row = one_row(norm_2025.observations, iso3="ARG", indicator="offences", year=2012, sex="Total", age="Total")
    assert row.value == 1757.0


def test_subforms_summed_as_interval(norm_2025):
    # CSV lines 53379-53382: ALB 2017 'Other forms of exploitation' = 27, <5, 5, 20 → 52 + [0, 4].
    row = one_row(norm_2025.observations, iso3="ALB", indicator="detected_victims", dimension="form",
               category="Other forms of exploitation", sex="Total", age="Total", year=2017)
    assert (row.lower, row.upper, row.source_rows) == (52.0, 56.0, 4)
    assert pd.isna(row.value) and bool(row.censored)
    assert row.status == "ok"


def test_shared_keys_counts(norm_2025):
    # PROVENANCE.md quality note 4: 1,216 rows in repeated keys, 906 of them 'Other forms of exploitation'.
    notes = " ".join(norm_2025.notes)
    assert "906 rows of 'Other forms of exploitation' summed" in notes
    assert (norm_2025.observations["status"] == "conflict").sum() == 1216 - 906


def test_sark_has_a_code(norm_2025):
    # CSV line 47255: blank Iso3_code, Country 'Sark'.
    rows = norm_2025.observations
    assert set(rows.loc[rows.country == "Sark", "iso3"]) == {"XSQ"}


def test_xlsx_and_csv_agree(real_data, norm_2025):
    raw = glotip.read(real_data / XLSX_2025)
    assert raw.edition == "2025-04-14"       # from the preamble row '14/04/2025'
    assert raw.first_row == 4                # two preamble rows, header on row 3
    norm = glotip.normalise(raw)
    cols = ["iso3", "indicator", "dimension", "category", "sex", "age", "year", "lower", "upper", "status"]
    a = norm.observations[cols].copy()
    # The one difference between the two files: 10 Tonga rows (2017-2020) whose Category is the
    # text 'N/A' in the xlsx are blank in the CSV copy (the conversion read 'N/A' as missing).
    tonga = a["category"].eq("N/A")
    assert tonga.sum() == 10 and set(a.loc[tonga, "iso3"]) == {"TON"}
    a.loc[tonga, "category"] = ""
    a = a.sort_values(cols, ignore_index=True)
    b = norm_2025.observations[cols].sort_values(cols, ignore_index=True)
    pd.testing.assert_frame_equal(a, b)


def test_2023_release_quarantines_non_country_codes(real_data):
    norm = glotip.normalise(glotip.read(real_data / XLSX_2023))
    # PROVENANCE.md: 46,556 rows; 957 rows with codes CAR, CAS, EEU, MCA, MCN, SAF, SAM, Aruba/Curacao.
    assert norm.rows_read == 46_556
    assert len(norm.quarantine) == 957
    assert norm.quarantine["reason"].str.startswith("not a country").all()


def test_two_editions_side_by_side(store_both):
    files = store_both.files("glotip")
    assert list(files["edition"]) == ["2023-05-30", "2025-04-14"]
    newest = store_both.observations(source="glotip", indicators=["detected_victims"])
    assert set(newest["edition"]) == {"2025-04-14"}
    cmp = store_both.compare_editions("glotip", "2023-05-30", "2025-04-14")
    counts = cmp["change"].value_counts()
    assert counts["revised"] > 1000 and counts["added"] > 10_000 and counts["dropped"] > 1000


def test_csv_replaces_xlsx_of_same_release(store_both, real_data):
    before = store_both.table_counts()
    result = tl.ingest([real_data / CSV_2025], db=store_both, edition="2025-04-14")
    assert result[0]["replaced"][0]["path"].endswith("data_glotip_2025-04-14.xlsx")
    after = store_both.table_counts()
    assert after["observations"] == before["observations"]
    assert len(store_both.files("glotip")) == 2


def test_csv_needs_edition(real_data, empty_store):
    with pytest.raises(InputFileError, match="does not state its edition.*--edition"):
        tl.ingest([real_data / CSV_2025], db=empty_store)
    assert empty_store.table_counts()["observations"] == 0


def test_changed_layout_is_a_clear_error(real_data, tmp_path, empty_store):
    bad = tmp_path / "glotip.csv"
    frame = pd.read_csv(real_data / CSV_2025, dtype=str, keep_default_na=False, nrows=50)
    frame.drop(columns=["txtVALUE"]).to_csv(bad, index=False)
    with pytest.raises(InputFileError) as info:
        tl.ingest([bad], db=empty_store, source="glotip", edition="2025-04-14")
    assert str(bad) in str(info.value)


def test_truncated_xlsx_is_a_clear_error(real_data, tmp_path, empty_store):
    bad = tmp_path / "data_glotip.xlsx"
    data = (real_data / XLSX_2025).read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError) as info:
        tl.ingest([bad], db=empty_store, source="glotip")
    assert str(bad) in str(info.value)
    assert empty_store.table_counts()["files"] == 0


def test_failed_batch_leaves_store_unchanged(real_data, tmp_path, store_both):
    before = store_both.table_counts()
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputFileError, match="file not found"):
        tl.ingest([real_data / XLSX_2023, missing], db=store_both)
    assert store_both.table_counts() == before


def test_detect_only_glotip(real_data):
    for path in sorted(real_data.rglob("*")):
        if path.is_file() and path.suffix in (".csv", ".xlsx"):
            assert glotip.detect(path) == (path.parent.name == "unodc_glotip"), path


def test_panel_cells_from_glotip(store_both):
    panel = tl.panel(db=store_both).set_index(["iso3", "year"])
    # CSV line 34479: PAK, Detected trafficking victims, Total, Total, Total, 2019, "32,022"
    assert panel.loc[("PAK", 2019), "detected_victims"] == 32022
    # CSV lines 45374 and 45384: USA, Detected trafficking victims, Total, 2007 = 303, 2008 = 317
    assert panel.loc[("USA", 2007), "detected_victims"] == 303
    assert panel.loc[("USA", 2008), "detected_victims_upper"] == 317
    # a '<5' total is the interval [0, 4] in the panel, never 0 or 5
    censored = panel[panel["detected_victims_upper"].eq(4) & panel["detected_victims_lower"].eq(0)]
    assert len(censored) > 0 and censored["detected_victims"].isna().all()
