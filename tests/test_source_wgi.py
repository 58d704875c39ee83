"""World Bank WGI source (2020 update, long format, Latin-1)."""

from __future__ import annotations

import pandas as pd
import pytest

import tiplens
from tiplens.errors import InputFileError
from tiplens.sources import wgi

FOLDER = "wgi_governance"
FILE = "2020_Worldwide_Governance_Indicators_1996-2019.csv"


@pytest.fixture(scope="module")
def loaded(real_data):
    raw = wgi.read(real_data / FOLDER / FILE)
    return raw, wgi.normalise(raw)


def _obs(obs: pd.DataFrame, iso3: str, year: int, indicator: str) -> pd.Series:
    row = obs[(obs["iso3"] == iso3) & (obs["year"] == year) & (obs["indicator"] == indicator)]
    assert len(row) == 1, (iso3, year, indicator, len(row))
    return row.iloc[0]


def test_detect_own_file_and_no_other(real_data):
    own = real_data / FOLDER / FILE
    assert wgi.detect(own)
    others = [p for p in real_data.rglob("*") if p.is_file() and p != own]
    assert [p for p in others if wgi.detect(p)] == []


def test_row_accounting(loaded):
    raw, norm = loaded
    assert (raw.dataset, raw.edition) == ("wgi_long", None)
    # PROVENANCE.md: 26,964 rows, Estimate missing in 983 (and then every value column is NA)
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (26964, 25981, 983)
    assert norm.quarantine["reason"].str.startswith("no value").all()
    # six value columns on every loaded row
    assert len(norm.observations) == 6 * 25981


def test_pinned_values(loaded):
    obs = loaded[1].observations
    # file row 18985: "C\xf4te d'Ivoire","CIV",2019,-0.566906571388245,21.1538467407227,15,30.769229888916,
    # 0.140914738178253,42.3076934814453,"RuleofLaw"  (Estimate, Lower, NumSrc, Rank, StdErr, Upper)
    estimate = _obs(obs, "CIV", 2019, "wgi_rule_of_law")
    assert estimate["value"] == pytest.approx(-0.566906571388245)
    assert estimate["lower"] == estimate["upper"] == estimate["value"]
    assert (estimate["measure"], estimate["source_row"]) == ("covariate", 18985)
    assert estimate["country"] == "Côte d'Ivoire"  # Latin-1 decoded
    assert _obs(obs, "CIV", 2019, "wgi_rule_of_law_se")["value"] == pytest.approx(0.140914738178253)
    assert _obs(obs, "CIV", 2019, "wgi_rule_of_law_pct_rank")["value"] == pytest.approx(30.769229888916)
    assert _obs(obs, "CIV", 2019, "wgi_rule_of_law_pct_lower")["value"] == pytest.approx(21.1538467407227)
    assert _obs(obs, "CIV", 2019, "wgi_rule_of_law_pct_upper")["value"] == pytest.approx(42.3076934814453)
    assert _obs(obs, "CIV", 2019, "wgi_rule_of_law_num_sources")["value"] == 15
    # row 22492: Afghanistan 2019 ControlofCorruption estimate -1.40107560157776
    assert _obs(obs, "AFG", 2019, "wgi_control_of_corruption")["value"] == pytest.approx(-1.40107560157776)
    # row 2143: Kosovo (World Bank code KSV) 2019 VoiceandAccountability -0.129588276147842
    kosovo = _obs(obs, "XKX", 2019, "wgi_voice_accountability")
    assert kosovo["value"] == pytest.approx(-0.129588276147842)
    assert kosovo["source_row"] == 2143


def test_codes_and_indicators(loaded):
    obs = loaded[1].observations
    assert set(obs["indicator"].str.replace(r"_(se|pct_rank|pct_lower|pct_upper|num_sources)$", "", regex=True)) \
        == set(wgi.INDICATORS.values())
    iso3 = set(obs["iso3"])
    assert {"XKX", "ROU", "COD", "TLS", "AND", "PSE", "PRI", "HKG"} <= iso3
    assert not {"KSV", "ROM", "ZAR", "TMP", "ADO", "WBG"} & iso3
    # years are biennial before 2002
    assert not {1997, 1999, 2001} & set(obs["year"])
    # row 2879: Netherlands Antilles (former) 1996, all values NA -> quarantined
    reasons = loaded[1].quarantine.set_index("row_number")["reason"]
    assert reasons[2879].startswith("no value")


def _head(real_data, n: int) -> bytes:
    return b"".join((real_data / FOLDER / FILE).read_bytes().splitlines(keepends=True)[:n])


def test_utf8_copy_reads_the_same(real_data, tmp_path):
    path = tmp_path / "utf8.csv"
    path.write_text((real_data / FOLDER / FILE).read_text(encoding="latin-1"), encoding="utf-8")
    norm = wgi.normalise(wgi.read(path))
    assert "Côte d'Ivoire" in set(norm.observations["country"])
    assert (norm.rows_read, norm.rows_loaded) == (26964, 25981)


def test_unknown_code_and_indicator_quarantined(real_data, tmp_path):
    text = _head(real_data, 4).decode("latin-1").splitlines()
    text[2] = text[2].replace('"AFG"', '"XYZ"')
    text[3] = text[3].replace("VoiceandAccountability", "Happiness")
    path = tmp_path / "odd.csv"
    path.write_text("\n".join(text) + "\n", encoding="latin-1")
    norm = wgi.normalise(wgi.read(path))
    reasons = norm.quarantine.set_index("row_number")["reason"]
    assert reasons[3] == "country not matched: XYZ / Afghanistan"
    assert reasons[4] == "unknown indicator: Happiness"
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (3, 1, 2)


def test_missing_column_raises(real_data, tmp_path):
    frame = pd.read_csv(real_data / FOLDER / FILE, dtype=str, keep_default_na=False, encoding="latin-1", nrows=5)
    path = tmp_path / "no_stderr.csv"
    frame.drop(columns=["StdErr"]).to_csv(path, index=False, encoding="latin-1")
    with pytest.raises(InputFileError, match="StdErr") as err:
        wgi.read(path)
    assert str(path) in str(err.value)


def test_truncated_raises(real_data, tmp_path):
    data = _head(real_data, 10)
    path = tmp_path / "cut.csv"
    path.write_bytes(data[: data.rstrip().rindex(b"\n") + 40])
    with pytest.raises(InputFileError, match="truncated") as err:
        wgi.read(path)
    assert str(path) in str(err.value)


def test_ingest(real_data, empty_store):
    result = tiplens.ingest([real_data / FOLDER / FILE], db=empty_store, edition="2020")
    assert [(r["source"], r["rows_read"], r["rows_loaded"], r["rows_quarantined"]) for r in result] \
        == [("wgi", 26964, 25981, 983)]
    value = empty_store.con.execute(
        "SELECT value FROM observations WHERE iso3 = 'CIV' AND year = 2019 AND indicator = 'wgi_rule_of_law'"
    ).fetchone()[0]
    assert value == pytest.approx(-0.566906571388245)


def test_key_given_twice_is_a_conflict(real_data, tmp_path):
    lines = _head(real_data, 3).decode("latin-1").splitlines()
    path = tmp_path / "twice.csv"
    path.write_text("\n".join(lines + [lines[2]]) + "\n", encoding="latin-1")
    obs = wgi.normalise(wgi.read(path)).observations
    assert obs.groupby("source_row")["status"].agg(set).to_dict() == {2: {"ok"}, 3: {"conflict"}, 4: {"conflict"}}
