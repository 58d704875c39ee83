"""Claims checked against the data: parsing, verdicts, and the shipped claim sets."""

from __future__ import annotations

import pandas as pd
import pytest

import tiplens as tl
from tiplens.analysis import claims
from tiplens.errors import TiplensError

GLOTIP_CSV = "unodc_glotip/data_glotip_2025-04-14.csv"


@pytest.fixture(scope="module")
def checked(real_data, tmp_path_factory):
    db = tmp_path_factory.mktemp("claims") / "s.duckdb"   # fresh store: embedded default + GLOTIP
    tl.ingest([real_data / GLOTIP_CSV], db=db, edition="2025-04-14")
    return db, tl.claims(db=db).set_index("id")


def test_every_shipped_claim_gets_a_verdict(checked):
    _, table = checked
    expected = {c["id"] for name in claims.SHIPPED for c in claims.shipped_claims(name)}
    assert set(table.index) == expected
    assert set(table["verdict"]) <= {"consistent", "inconsistent", "not checkable"}
    assert table["explanation"].str.len().min() > 20


def test_seed_paper_verdicts(checked, real_data):
    _, table = checked
    # 2023 is after the file's last year (2022): cannot be checked, and the output says why
    assert table.loc["seed_victims_2023", "verdict"] == "not checkable"
    assert "2022" in table.loc["seed_victims_2023", "explanation"]
    # frameworks.csv (cooperation_membership): eu_directive_2011_36 adopted 2011, not 2021
    assert table.loc["seed_eu_directive_year", "measured"] == 2011
    assert table.loc["seed_eu_directive_year", "verdict"] == "inconsistent"
    # 'hundreds of millions' against the 49.6 million of the 2022 Global Estimates
    assert table.loc["seed_hundreds_of_millions", "verdict"] == "inconsistent"
    # the 2020 world total, recomputed here from the raw CSV: Total rows (sex Total, age Total) of
    # detected victims in 2020, '<5' as 0-4, skipping keys that repeat (the loader's conflicts)
    raw = pd.read_csv(real_data / GLOTIP_CSV, dtype=str, keep_default_na=False)
    rows = raw[(raw.Indicator == "Detected trafficking victims") & (raw.Dimension == "Total")
               & (raw.Sex == "Total") & (raw.Age == "Total") & (raw.Year == "2020")]
    key = ["Iso3_code", "Country", "Indicator", "Dimension", "Category", "Sex", "Age", "Year"]
    rows = rows[~rows.duplicated(key, keep=False)]
    censored = rows.txtVALUE.eq("<5")
    number = pd.to_numeric(rows.txtVALUE.str.replace(",", ""), errors="coerce")
    assert table.loc["seed_victims_2020", "lower"] == number[~censored].sum()
    assert table.loc["seed_victims_2020", "upper"] == number[~censored].sum() + 4 * censored.sum()
    assert table.loc["seed_victims_2020", "countries"] == rows.Iso3_code.nunique()


def _raw_cells(real_data, **where) -> pd.DataFrame:
    """Detected-victim cells from the raw CSV, '<5' as 0-4, repeated natural keys left out (the
    loader's conflicts) except 'Other forms of exploitation', whose several rows add up."""
    raw = pd.read_csv(real_data / GLOTIP_CSV, dtype=str, keep_default_na=False)
    key = ["Iso3_code", "Country", "Indicator", "Dimension", "Category", "Sex", "Age", "Year"]
    repeated = raw.duplicated(key, keep=False) & raw.Category.ne("Other forms of exploitation")
    raw = raw[~repeated & raw.Indicator.eq("Detected trafficking victims")]
    for column, value in where.items():
        raw = raw[raw[column] == value]
    censored = raw.txtVALUE.eq("<5")
    number = pd.to_numeric(raw.txtVALUE.str.replace(",", ""), errors="coerce")
    return raw.assign(lower=number.where(~censored, 0), upper=number.where(~censored, 4))


def test_girls_change_and_form_share_recomputed_from_the_csv(checked, real_data):
    """Two GLOTIP 2024 headlines, recomputed here with pandas from the raw file."""
    _, table = checked
    girls = _raw_cells(real_data, Dimension="Total", Sex="Female", Age="0 to 17 years")
    girls = girls[girls.Year.isin(["2019", "2022"])]
    both = girls.groupby("Iso3_code").Year.nunique().loc[lambda n: n == 2].index
    fixed = girls[girls.Iso3_code.isin(both)]
    before, after = fixed[fixed.Year == "2019"], fixed[fixed.Year == "2022"]
    row = table.loc["glotip2024_girls_up_38pct"]
    assert row["countries"] == len(both)
    assert row["lower"] == pytest.approx(100 * (after.lower.sum() / before.upper.sum() - 1))
    assert row["upper"] == pytest.approx(100 * (after.upper.sum() / before.lower.sum() - 1))
    boys = _raw_cells(real_data, Dimension="by form of exploitation", Sex="Male", Age="0 to 17 years", Year="2022")
    labour = boys.Category.eq("Forced labour")
    row = table.loc["glotip2024_boys_forced_labour_45pct"]
    assert row["lower"] == pytest.approx(100 * boys[labour].lower.sum()
                                         / (boys[labour].lower.sum() + boys[~labour].upper.sum()))
    assert row["verdict"] == "inconsistent"  # 34.7-38.4 % in the country file against the Report's 45 %


def test_command_json_equals_library(checked):
    import json

    from typer.testing import CliRunner

    from tiplens.cli import app, to_jsonable
    db, _ = checked
    result = CliRunner().invoke(app, ["claims", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == to_jsonable(tl.claims(db=db))


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "claims.yaml"
    path.write_text("claims:\n  - id: a\n    statement: [unclosed\n", encoding="utf-8")
    with pytest.raises(TiplensError, match=r"claims.yaml, line \d+: not valid YAML"):
        claims.load_claims(path)


def test_unknown_quantity_lists_the_valid_ones(tmp_path):
    path = tmp_path / "claims.yaml"
    path.write_text("claims:\n  - {id: a, statement: s, source: x, published: 1, quantity: {kind: median}}\n",
                    encoding="utf-8")
    with pytest.raises(TiplensError, match="unknown quantity kind 'median'; valid kinds: world_total"):
        claims.load_claims(path)


def test_missing_parameter_is_named():
    text = "claims:\n  - {id: a, statement: s, source: x, published: 1, quantity: {kind: world_total}}\n"
    with pytest.raises(TiplensError, match="needs indicator, year"):
        claims.parse_claims(text, origin="t")


def test_no_glotip_makes_data_claims_not_checkable(tmp_path):
    table = tl.claims(db=tmp_path / "fresh.duckdb").set_index("id")
    assert table.loc["seed_victims_2020", "verdict"] == "not checkable"
    assert "ingest" in table.loc["seed_victims_2020", "explanation"]
    # the framework table ships in the default, so this one is still checked
    assert table.loc["seed_eu_directive_year", "verdict"] == "inconsistent"
