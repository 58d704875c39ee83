"""tiplens.report.views: each view wraps an analysis, carries its context, and explains an empty selection."""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import unquote

import pandas as pd
import pytest

import tiplens as tl
from tiplens._default import catalogue
from tiplens.errors import TiplensError
from tiplens.report import maps, views

GLOTIP_XLSX = "unodc_glotip/data_glotip_2025-04-14.xlsx"
GLOTIP_CSV = "unodc_glotip/data_glotip_2025-04-14.csv"


@pytest.fixture(scope="module")
def full(real_data, tmp_path_factory):
    """The embedded default plus GLOTIP 2025 (xlsx) and every MSE list file."""
    path = tmp_path_factory.mktemp("views") / "full.duckdb"
    store = tl.open_store(path, with_default=True)
    tl.ingest([real_data / GLOTIP_XLSX], db=store)
    for item in catalogue()["mse_lists"]["files"]:
        tl.ingest([real_data / item["mirror_path"]], db=store, source="mse_lists", edition=item.get("edition"))
    data = {"obs": store.observations(), "countries": store.countries(), "files": store.files(),
            "mse": store.records("mse_lists"), "frameworks": store.records("frameworks"), "path": path}
    data["glotip"] = data["obs"][data["obs"]["source"].eq("glotip")]
    store.close()
    return data


@pytest.fixture(scope="module")
def default_only(tmp_path_factory):
    path = tmp_path_factory.mktemp("views-default") / "default.duckdb"
    store = tl.open_store(path, with_default=True)
    data = {"obs": store.observations(), "countries": store.countries(), "files": store.files(),
            "mse": store.records("mse_lists")}
    store.close()
    return data


def raw_world_2022(path):
    """World total of detected victims in 2022 straight from the published CSV with pandas:
    Total rows (sex and age Total), '<5' = 0..4, repeated natural keys left out (the documented rule)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    key = ["Iso3_code", "Country", "Indicator", "Dimension", "Category", "Sex", "Age", "Year"]
    raw = raw[~raw.duplicated(key, keep=False)]
    rows = raw[(raw["Indicator"] == "Detected trafficking victims") & (raw["Dimension"] == "Total")
               & (raw["Sex"] == "Total") & (raw["Age"] == "Total") & (raw["Year"] == "2022")]
    censored = rows["txtVALUE"].str.strip().eq("<5")
    exact = pd.to_numeric(rows.loc[~censored, "txtVALUE"].str.replace(",", ""))
    return len(rows), exact.sum(), exact.sum() + 4 * censored.sum()


def test_world_series_matches_the_raw_file(full, real_data):
    view = views.world_series(full["glotip"], full["countries"], bootstrap=0)
    assert view.empty_reason is None and view.figure is not None
    row = view.table.set_index("year").loc[2022]
    countries, lower, upper = raw_world_2022(real_data / GLOTIP_CSV)
    # 112 countries in 2022: the issue text and the raw CSV agree
    assert row["countries"] == countries == 112
    assert (row["lower"], row["upper"]) == (lower, upper)
    assert view.edition == "2025-04-14"
    assert view.countries == f"{view.table['countries'].min()}-{view.table['countries'].max()} per year"
    assert "not of how many people are trafficked" in view.caveat


def test_views_equal_their_library_twins(full):
    db = full["path"]
    from tiplens.analysis.trends import population_table
    population = population_table(full["obs"][full["obs"]["source"].eq("hdr")])
    series = views.world_series(full["glotip"], full["countries"], panel="balanced", year_from=2017,
                                population=population, bootstrap=0).table
    twin = tl.trends(db=db, panel="balanced", year_from=2017, bootstrap=0)
    pd.testing.assert_frame_equal(series.reset_index(drop=True), twin[series.columns].reset_index(drop=True),
                                  check_dtype=False)
    # 82 countries reported in every year 2017-2022 (counted from the raw CSV in test_trends)
    assert set(series["countries"]) == {82}
    pandemic = views.pandemic_view(full["glotip"], full["countries"]).table
    pd.testing.assert_frame_equal(pandemic, tl.periods(db=db), check_dtype=False)
    claims = views.claims_view(full["glotip"], full["frameworks"]).table
    pd.testing.assert_frame_equal(claims, tl.claims(db=db), check_dtype=False)
    its = views.its_view(full["glotip"]).table
    pd.testing.assert_frame_equal(its, tl.interrupted_time_series(db=db), check_dtype=False)
    seed = views.seed_figure_view(full["glotip"], full["countries"])
    # the seed paper's 2020 figure next to the 143 countries that reported in 2020 (raw CSV, test_trends)
    row = seed.table.set_index("year").loc[2020]
    assert row["paper"] == 49_000 and row["countries"] == 143


def test_breakdowns_and_filters(full):
    sex = views.breakdown_view(full["glotip"], full["countries"], breakdown="sex", bootstrap=0)
    assert set(sex.table["category"]) >= {"Female", "Male"}
    female = views.breakdown_view(full["glotip"], full["countries"], breakdown="sex", categories=["Female"],
                                  bootstrap=0)
    assert set(female.table["category"]) == {"Female"}
    europe = views.world_series(full["glotip"], full["countries"], by="region", group="Europe", bootstrap=0)
    assert set(europe.table["group"]) == {"Europe"}
    nowhere = views.world_series(full["glotip"], full["countries"], by="region", group="Atlantis", bootstrap=0)
    assert nowhere.figure is None and "Atlantis" in nowhere.empty_reason and "Europe" in nowhere.empty_reason
    too_long = views.world_series(full["glotip"], full["countries"], panel="balanced", bootstrap=0)
    assert too_long.empty and "empty panel" in too_long.empty_reason


def test_flows_view_sums_to_the_analysis(full):
    from tiplens.analysis.trends import flows
    view = views.flows_view(full["glotip"], full["countries"], year_from=2020, year_to=2022)
    direct = flows(full["glotip"], year_from=2020, year_to=2022, countries=full["countries"], level="region")
    assert view.table["upper"].sum() == direct["upper"].sum()
    assert view.figure.data[0].type == "sankey"
    abroad = views.flows_view(full["glotip"], full["countries"], include_domestic=False)
    assert (abroad.table["origin_region"] != abroad.table["detection_region"]).all()


def test_mse_view_per_study(full, real_data):
    studies = views.mse_studies(full["mse"])
    assert "uk_2013" in studies and len(studies) == len(catalogue()["mse_lists"]["files"])
    view = views.mse_view(full["mse"], study="uk_2013", files=full["files"])
    chosen = view.table[view.table["selected"]].iloc[0]
    # Home Office 2014 (Silverman): 10,000 to 13,000 potential victims in 2013
    assert 10_000 <= chosen["estimate"] <= 13_000
    # the same file through the `tiplens mse` twin
    assert chosen["estimate"] == pytest.approx(tl.mse(real_data / "mse_modern_slavery_lists/UKdat.csv")["estimate"])
    assert "UKdat.csv" in view.edition and view.figure is not None
    unknown = views.mse_view(full["mse"], study="atlantis")
    assert unknown.empty and "uk_2013" in unknown.empty_reason


def test_coverage_counts_distinct_countries(full):
    view = views.coverage_view(full["obs"])
    glotip = view.table[(view.table["source"] == "glotip") & (view.table["year"] == 2022)]
    # 2022 GLOTIP: the 112 countries of the world total plus those reporting only breakdowns or other indicators
    assert int(glotip["countries"].iloc[0]) == full["glotip"].loc[full["glotip"]["year"].eq(2022), "iso3"].nunique()
    assert int(glotip["countries"].iloc[0]) >= 112


def test_sources_view_hides_folders(full):
    view = views.sources_view(full["files"])
    assert not view.table["file"].str.contains("/").any()
    assert (view.table["rows_read"] == view.table["rows_loaded"] + view.table["rows_quarantined"]).all()


def test_default_store_explains_missing_glotip(default_only):
    obs, countries = default_only["obs"], default_only["countries"]
    for view in (views.world_series(obs, countries), views.breakdown_view(obs, countries),
                 views.flows_view(obs, countries), views.pandemic_view(obs, countries),
                 views.world_map_view(obs, countries)):
        assert view.empty and view.figure is None and view.svg is None
        assert "GLOTIP not loaded" in view.empty_reason and "tiplens ingest" in view.empty_reason
    claims = views.claims_view(obs)
    assert set(claims.table["verdict"]) <= {"not checkable", "consistent", "inconsistent"}
    assert views.GLOTIP_MISSING in claims.notes
    assert views.mse_view(default_only["mse"]).empty
    assert not views.coverage_view(obs).empty


def test_csv_download_neutralises_formulas():
    view = views.View(id="x", title="x", table=pd.DataFrame({"a": ["=1+1", "-2", "ok", "@SUM(A1)"], "n": [1, -2, 3, 4]}))
    uri = view.csv_data_uri()
    assert uri.startswith("data:text/csv;charset=utf-8,")
    rows = list(csv.reader(io.StringIO(unquote(uri.split(",", 1)[1]))))
    assert rows[1:] == [["'=1+1", "1"], ["'-2", "-2"], ["ok", "3"], ["'@SUM(A1)", "4"]]


def test_figure_json_cannot_close_its_script(full):
    view = views.world_series(full["glotip"], full["countries"], bootstrap=0)
    view.figure.update_layout(title="</script><script>alert(1)</script>")
    text = view.figure_json_html()
    assert "</" not in text and "<" not in text
    assert json.loads(text)["layout"]["title"]["text"].startswith("</script>")


# -- maps ------------------------------------------------------------------------------------------
TINY_MAP = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 50"><g id="countries">'
            '<g class="af country map-element"><path d="M1 1h5v5h-5z"/></g>'
            '<g class="bo country map-element"><path d="M10 1h5v5h-5z"/></g>'
            '<g class="zz country map-element"><path d="M20 1h5v5h-5z"/></g></g></svg>')


def test_svg_map_fills_by_value_from_a_map_file(tmp_path):
    """A three-country map file: AF and BO are countries, zz is no ISO code (left grey, unnamed)."""
    path = tmp_path / "tiny.svg"
    path.write_text(TINY_MAP, encoding="utf-8")
    assert maps.map_countries(path) == ["AFG", "BOL"]
    frame = pd.DataFrame({"iso3": ["AFG", "BOL"], "name": ["Afghanistan", "Bolivia <b>"], "years": [0, 6]})
    svg = maps.svg_choropleth(frame, value="years", title="t & u", path=path)
    # one positive value: one bin, the darkest step; a zero and an unknown code are grey
    assert f'data-iso3="BOL" fill="{maps.STEPS[-1]}"' in svg
    assert f'data-iso3="AFG" fill="{maps.NO_DATA_COLOUR}"' in svg
    assert f'data-iso3="" fill="{maps.NO_DATA_COLOUR}"><title>ZZ: no data</title>' in svg
    assert "Bolivia &lt;b&gt;; years: 6" in svg and "<b>" not in svg  # tooltips are escaped
    assert 'aria-label="t &amp; u"' in svg and "<script" not in svg
    with pytest.raises(TiplensError, match="not found"):
        maps.svg_choropleth(frame, value="years", title="t", path=tmp_path / "nope.svg")


def test_world_map_from_the_packaged_outlines(full):
    """The packaged map (pygal_maps_world) draws most reporting countries; the rest are named."""
    view = views.world_map_view(full["glotip"], full["countries"])
    assert not view.empty and view.svg.startswith("<svg") and view.figure is None
    drawable = set(maps.map_countries())
    assert {"USA", "NGA", "IND", "BRA", "FRA"} <= drawable and len(drawable) > 170
    table = view.table.set_index("iso3")
    # by hand from the xlsx: Pakistan reports detected victims for 2019-2022 among others; a grey
    # country of the map is one with 0 years
    assert table.loc["PAK", "years_reported"] > 0 and 'data-iso3="PAK" fill="#' in view.svg
    grey = table[table["on_map"] & table["years_reported"].eq(0)].index
    assert all(f'data-iso3="{code}" fill="{maps.NO_DATA_COLOUR}"' in view.svg for code in grey)
    off_map = table[~table["on_map"] & table["years_reported"].gt(0)].index
    assert all(code in view.notes[0] for code in off_map)


# -- the report on the real files ------------------------------------------------------------------
def test_full_report_is_deterministic_and_takes_a_named_panel(full, tmp_path):
    from tiplens._api_report import report
    panel = tmp_path / "panel.txt"
    # five large reporters (ISO3 codes, one per line)
    panel.write_text("USA\nGBR\nNGA\nTHA\nMEX\n", encoding="utf-8")
    first = report(db=full["path"], out=tmp_path / "a.html", sections=["trends", "hidden"], panel=str(panel),
                   generated_at="2026-01-01T00:00:00+00:00")
    second = report(db=full["path"], out=tmp_path / "b.html", sections=["trends", "hidden"], panel=str(panel),
                    generated_at="2026-01-01T00:00:00+00:00")
    # bootstrap intervals (shares, within-panel changes) are seeded: the same inputs give the same bytes
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
    text = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert 'id="trends-world-named"' in text and "named panel (5 countries)" in text
    assert first["empty"] == [] and first == {**second, "path": first["path"], "html": first["html"]}
