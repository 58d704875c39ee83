"""`tiplens lens coverage`: the institutional density index, Palermo status, gaps, chart, CLI.

Expected densities are counted by hand from the rows of ../shared/data/cooperation_membership
(the embedded default holds the same membership tables; dates quoted per country below).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

import tiplens as tl
from tiplens._api_lens_analysis import lens_coverage, lens_gaps, write_lens_chart
from tiplens._cli_common import to_jsonable
from tiplens.cli import app
from tiplens.errors import TiplensError
from tiplens.lens import coverage as cov


@pytest.fixture(scope="module")
def default_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("lens_cov") / "default.duckdb"
    tl.open_store(path, with_default=True).close()
    return path


def full_store_path(tmp_path_factory, real_data):
    """One store with the real files, shared by the lens test modules of a session (built once;
    the lens commands only read it)."""
    path = tmp_path_factory.getbasetemp() / "lens_full_store" / "full.duckdb"
    if path.exists():
        return path
    path.parent.mkdir(exist_ok=True)
    store = tl.open_store(path, with_default=True)
    tl.ingest([real_data / "unodc_glotip/data_glotip_2025-04-14.xlsx",
               real_data / "walkfree_gsi_2023/2023-Global-Slavery-Index-Data.xlsx"], db=store)
    tl.ingest(sorted((real_data / "kelley_simmons_panel").glob("*.csv")), db=store, edition="2017-08-14")
    tl.ingest([real_data / "anti_tip_policy_3p/policy_index.csv"], db=store, edition="2015-12-03")
    store.close()
    return path


@pytest.fixture(scope="module")
def full_db(tmp_path_factory, real_data):
    return full_store_path(tmp_path_factory, real_data)


@pytest.fixture(scope="module")
def default_coverage(default_db):
    return lens_coverage(db=default_db, year_from=2000, year_to=2016).set_index(["iso3", "year"])


def test_density_counts_dated_memberships_by_hand(default_coverage):
    # Albania: Palermo ratified 2002-08-21, UNTOC 2002 (Kelley & Simmons year), CoE CETS 197
    # ratified 2007-02-06; no other file names Albania. Denmark: Palermo 2003-09-30, UNTOC 2003,
    # CETS 197 2007-09-19, both EU directives "not bound" (which never counts).
    expected = {("ALB", 2001): 0, ("ALB", 2002): 2, ("ALB", 2006): 2, ("ALB", 2007): 3, ("ALB", 2016): 3,
                ("DNK", 2002): 0, ("DNK", 2003): 2, ("DNK", 2007): 3, ("DNK", 2014): 3}
    for key, value in expected.items():
        assert default_coverage.loc[key, "density_lower"] == value, key
        assert default_coverage.loc[key, "density_upper"] == value, key  # every membership is dated


def test_undated_memberships_widen_the_upper_bound(default_coverage):
    # Thailand: ASEAN member 1967-08-08 and ACTIP party 2016 (dated); Bali Process member,
    # Blue Heart participant and Palermo party without a date (adopted 2002, 2009, 2000 in
    # frameworks.csv); UNTOC status empty (unknown: never counts).
    tha = default_coverage.loc["THA"]
    assert tha.loc[2005, ["density_lower", "density_upper"]].tolist() == [1, 3]   # ASEAN | + Bali, Palermo
    assert tha.loc[2010, ["density_lower", "density_upper"]].tolist() == [1, 4]   # + Blue Heart from 2009
    assert tha.loc[2016, ["density_lower", "density_upper"]].tolist() == [2, 5]   # + ACTIP 2016
    assert tha.loc[2016, "mechanisms"] == "asean;asean_actip;bali_process*;blue_heart_campaign*;palermo_protocol*"


def test_membership_of_one_body_implies_nothing_else(default_db):
    # Timor-Leste joined ASEAN on 2025-10-26 (asean_membership.csv); it has no ACTIP row
    tls = lens_coverage(db=default_db, year_from=2024, year_to=2025, countries=["TLS"]).set_index("year")
    # (its Palermo row says party without a date: counted in the upper bound only)
    assert tls["mechanisms"].tolist() == ["palermo_protocol*", "asean;palermo_protocol*"]
    assert tls["density_lower"].tolist() == [0, 1]
    # the same rule on a frame built by hand: an 'unknown' ACTIP status never counts
    spells = cov.membership_spells(pd.DataFrame({
        "iso3": ["TLS", "TLS"], "indicator": ["membership_asean", "membership_asean_actip"],
        "category": ["member", "unknown"], "year": [2025, None]}))
    density = cov.density_index(spells, pd.DataFrame({"iso3": ["TLS", "TLS"], "year": [2024, 2025]}))
    assert density["density_lower"].tolist() == [0, 1]
    assert density["mechanisms"].tolist() == ["", "asean"]


def test_kelley_simmons_not_ratified_bounds_undated_palermo(full_db):
    # Thailand: the membership table says party (no date); Kelley & Simmons code it not ratified
    # by 2011 (palermo_ratification_year_derived.csv: ratproto2000 0 in 2011), so an undated
    # Palermo membership cannot count before 2012 even in the upper bound.
    frame = lens_coverage(db=full_db, year_from=2010, year_to=2013, countries=["THA"]).set_index("year")
    assert frame.loc[2011, "palermo_party"] == 0
    assert "palermo_protocol" not in frame.loc[2011, "mechanisms"]
    assert "palermo_protocol*" in frame.loc[2012, "mechanisms"]


def test_glotip_columns_and_coverage_count(full_db, real_data):
    frame = lens_coverage(db=full_db, year_from=2019, year_to=2020, countries=["NGA"]).set_index("year")
    # by hand from data_glotip_2025-04-14.csv: Nigeria, Detected trafficking victims, Total/Total/Total
    raw = pd.read_csv(real_data / "unodc_glotip/data_glotip_2025-04-14.csv", dtype=str, keep_default_na=False)
    row = raw[(raw.Iso3_code == "NGA") & (raw.Indicator == "Detected trafficking victims") & (raw.Dimension == "Total")
              & (raw.Sex == "Total") & (raw.Age == "Total") & (raw.Year == "2019")]
    published = float(row.txtVALUE.iloc[0].replace(",", ""))
    assert frame.loc[2019, "detected_victims_lower"] == published == frame.loc[2019, "detected_victims_upper"]
    pop = frame.loc[2019, "population"]
    assert frame.loc[2019, "detected_per_100k_lower"] == pytest.approx(published / pop * 1e5)
    assert 0 <= frame.loc[2019, "glotip_indicators"] <= 3
    assert frame.loc[2019, "glotip_years_reported"] >= 1


def test_gaps_flag_countries_outside_palermo_and_with_high_prevalence(full_db):
    table = lens_gaps(db=full_db).set_index("iso3")
    # North Korea: GSI 2023 publishes 104.6 per 1,000 (the highest); not a Palermo party in 2022
    assert table.loc["PRK", "gsi_prevalence_per_1000"] == pytest.approx(104.6)
    assert bool(table.loc["PRK", "gap"]) and bool(table.loc["PRK", "outside_palermo"])
    # Denmark: low prevalence and party to Palermo: no gap
    assert not bool(table.loc["DNK", "gap"])
    assert table["gap"].iloc[0]  # gaps come first


def test_gaps_without_gsi_still_judge_palermo(default_db):
    table = lens_gaps(db=default_db)
    assert table["gsi_prevalence_per_1000"].isna().all()
    outside = set(table.loc[table["outside_palermo"], "iso3"])
    # Palermo file: Iran, North Korea, Somalia... 'not party'; Republic of the Congo 'signatory only'
    assert {"IRN", "PRK", "SOM", "COG"} <= outside
    assert set(table.loc[table["gap"], "iso3"]) == outside


def test_bad_input_names_what_is_valid(default_db):
    with pytest.raises(TiplensError, match="unknown framework.*valid: palermo_protocol"):
        lens_coverage(db=default_db, frameworks=["palermo"])
    with pytest.raises(TiplensError, match="no data for country code.*XYZ"):
        lens_coverage(db=default_db, countries=["XYZ"])
    with pytest.raises(TiplensError, match="before --from"):
        lens_coverage(db=default_db, year_from=2010, year_to=2005)


def test_framework_filter_counts_only_the_chosen(default_db):
    frame = lens_coverage(db=default_db, year_from=2010, year_to=2010, frameworks=["coe_cets197"]).set_index("iso3")
    assert frame.loc["ALB", "density_lower"] == 1 and frame.loc["THA", "density_upper"] == 0


def test_charts_are_written(default_db, tmp_path):
    frame = lens_coverage(db=default_db)
    html = write_lens_chart("coverage", frame, tmp_path / "c.html", gaps=lens_gaps(db=default_db))
    assert "Institutional density" in html.read_text(encoding="utf-8")
    png = write_lens_chart("coverage", frame, tmp_path / "c.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(TiplensError, match=r"\.html"):
        write_lens_chart("coverage", frame, tmp_path / "c.svg")


def test_cli_json_equals_twin(default_db):
    runner = CliRunner()
    result = runner.invoke(app, ["lens", "coverage", "--db", str(default_db), "--country", "ALB", "--from", "2000",
                                 "--to", "2005", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"rows": to_jsonable(lens_coverage(db=default_db, countries=["ALB"],
                                                                          year_from=2000, year_to=2005))}
    gaps = runner.invoke(app, ["lens", "coverage", "--db", str(default_db), "--gaps", "--json"])
    assert json.loads(gaps.stdout) == {"rows": to_jsonable(lens_gaps(db=default_db))}
    bad = runner.invoke(app, ["lens", "coverage", "--db", str(default_db), "--framework", "nope"])
    assert bad.exit_code == 1 and "unknown framework" in bad.output
