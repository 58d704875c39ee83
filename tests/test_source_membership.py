"""Cooperation-membership loader on the real files; expected values read by hand from the CSVs."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import tiplens as tl
from tiplens.errors import InputFileError
from tiplens.sources import membership

FOLDER = "cooperation_membership"
HEADER = "iso3,country,status,signed,ratified_or_joined,source,note"

# file → (dataset, rows read, rows loaded, quarantined, country observations); rows counted with
# `wc -l` minus the header; organisations (EUU, the Bali member organisations) are loaded as records.
FILES = {
    "palermo_protocol_xviii_12_a.csv": ("palermo_protocol", 197, 197, 0, 196),
    "untoc_xviii_12.csv": ("untoc", 185, 185, 0, 184),
    "coe_cets197_trafficking_convention.csv": ("coe_cets197", 49, 49, 0, 49),
    "asean_membership.csv": ("asean", 11, 11, 0, 11),
    "asean_actip.csv": ("asean_actip", 11, 11, 0, 11),
    "eu_directive_2011_36.csv": ("eu_directive_2011_36", 28, 28, 0, 28),
    "eu_directive_2024_1712.csv": ("eu_directive_2024_1712", 27, 27, 0, 27),
    "saarc_trafficking_convention_2002.csv": ("saarc_convention_2002", 8, 8, 0, 8),
    "ilo_p029_forced_labour_protocol.csv": ("ilo_p029", 14, 14, 0, 14),
    "bali_process.csv": ("bali_process", 22, 22, 0, 22),
    "bali_process_member_organisations.csv": ("bali_process_organisations", 4, 4, 0, 0),
    "ecowas_membership.csv": ("ecowas", 16, 16, 0, 16),
    "blue_heart_campaign.csv": ("blue_heart_campaign", 11, 11, 0, 11),
    "frameworks.csv": ("frameworks", 13, 13, 0, 0),
}


def _load(real_data, name):
    return membership.normalise(membership.read(real_data / FOLDER / name))


def _row(norm, source_row):
    rows = norm.observations[norm.observations["source_row"] == source_row]
    assert len(rows) == 1, rows
    return rows.iloc[0]


@pytest.fixture(scope="module")
def palermo(real_data):
    return _load(real_data, "palermo_protocol_xviii_12_a.csv")


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_file_accounted(real_data, name):
    dataset, read, loaded, quarantined, observations = FILES[name]
    raw = membership.read(real_data / FOLDER / name)
    norm = membership.normalise(raw)
    assert raw.dataset == dataset
    assert raw.edition is None  # the files do not state a compilation date inside them
    assert (norm.rows_read, norm.rows_loaded, len(norm.quarantine)) == (read, loaded, quarantined)
    assert len(norm.observations) == observations
    if observations:
        assert set(norm.observations["indicator"]) == {f"membership_{dataset}"}
        assert set(norm.observations["measure"]) == {"treaty_event"}
        assert set(norm.observations["category"]) <= set(membership.STATUSES)
        assert (norm.observations["value"] == 1.0).all()


def test_dated_party_and_signatory(palermo):
    # palermo_protocol_xviii_12_a.csv row 3: ALB, party, signed 2000-12-12, ratified_or_joined 2002-08-21
    alb = _row(palermo, 3)
    assert (alb.iso3, alb.category, alb.date, alb.year, alb.status) == ("ALB", "party", "2002-08-21", 2002, "ok")
    # row 140: COG, 'signatory only', signed 2000-12-14: the event is the signature
    cog = _row(palermo, 140)
    assert (cog.iso3, cog.category, cog.date, cog.year) == ("COG", "signatory", "2000-12-14", 2000)


def test_empty_status_is_unknown_never_not_party(palermo, real_data):
    # rows 195-198: MHL, MCO, SMR, KNA with empty status and dates (PROVENANCE: no source read)
    rows = palermo.observations[palermo.observations["source_row"].between(195, 198)]
    assert sorted(rows["iso3"]) == ["KNA", "MCO", "MHL", "SMR"]
    assert set(rows["category"]) == {"unknown"}
    assert rows["year"].isna().all() and rows["date"].isna().all()
    # untoc_xviii_12.csv row 5: AGO with empty status (Kelley-Simmons 'not yet' in c. 2009)
    untoc = _load(real_data, "untoc_xviii_12.csv")
    ago = _row(untoc, 5)
    assert (ago.iso3, ago.category) == ("AGO", "unknown") and pd.isna(ago.year)
    assert (untoc.observations["category"] == "unknown").sum() == 37
    assert (untoc.observations["category"] == "not_party").sum() == 0


def test_conflict_rows_load_with_a_flag(palermo, real_data):
    # row 130: PAK, party, no date; note 'CONFLICT: not party per GSI; party per VDB_RES,DOL (see PROVENANCE)'
    pak = _row(palermo, 130)
    assert (pak.iso3, pak.category, pak.status) == ("PAK", "party", "ok") and pd.isna(pak.year)
    assert pak.flag == "conflict: not party per GSI; party per VDB_RES,DOL (see PROVENANCE)"
    assert palermo.observations["flag"].fillna("").str.startswith("conflict:").sum() == 3  # AFG, AGO, PAK
    # coe_cets197_trafficking_convention.csv row 5: AUT, coe.int 12 Oct 2006 vs whatconvention 12 Dec 2006
    aut = _row(_load(real_data, "coe_cets197_trafficking_convention.csv"), 5)
    assert aut.date == "2006-10-12" and aut.status == "ok"
    assert aut.flag.startswith("conflict: coe.int flags page says ratified 12 October 2006")


def test_organisations_are_records_not_countries(palermo, real_data):
    # row 194: EUU, 'EU (Europese Unie)', party, ratified 2006-09-06
    assert "EUU" not in set(palermo.observations["iso3"])
    org = palermo.records["membership_organisations"]
    assert org[["source_row", "org_code", "organisation", "category", "date"]].values.tolist() == [
        [194, "EUU", "European Union", "party", "2006-09-06"]]
    bali = _load(real_data, "bali_process_member_organisations.csv")
    assert len(bali.observations) == 0
    assert list(bali.records["membership_organisations"]["org_code"]) == ["IOM", "UNHCR", "UNODC", "ILO"]
    assert set(bali.records["membership_organisations"]["category"]) == {"member"}


def test_statuses_that_need_their_published_text(real_data):
    ecowas = _load(real_data, "ecowas_membership.csv")
    # ecowas_membership.csv row 14: BFA, 'former member', 1975 (its joining date, not the status's date)
    bfa = _row(ecowas, 14)
    assert (bfa.category, bfa.flag) == ("not_party", "published status: former member") and pd.isna(bfa.year)
    # row 17: MRT, 'associate member', 2017
    mrt = _row(ecowas, 17)
    assert (mrt.category, mrt.year, mrt.flag) == ("not_party", 2017, "published status: associate member")
    eu = _load(real_data, "eu_directive_2011_36.csv")
    assert _row(eu, 8).category == "not_bound" and _row(eu, 8).iso3 == "DNK"   # row 8: 'not bound'
    assert _row(eu, 29).flag == "published status: formerly bound"              # row 29: GBR
    # eu_directive_2024_1712.csv row 15: IRL 'bound (opt-in approved by Dail 2023-04-19)'
    irl = _row(_load(real_data, "eu_directive_2024_1712.csv"), 15)
    assert irl.category == "party" and irl.flag == "published status: bound (opt-in approved by Dail 2023-04-19)"
    # eu_directive_2011_36.csv row 8: DNK's note 'NOT BOUND - unverified (from memory): ...'
    assert _row(eu, 8).flag.startswith("unverified: NOT BOUND - unverified (from memory)")
    # bali_process.csv row 23: CAN 'observer' is not a member
    assert _row(_load(real_data, "bali_process.csv"), 23).category == "not_party"


def test_timor_leste_joined_asean(real_data):
    # asean_membership.csv row 12: TLS, member, joined 2025-10-26
    tls = _row(_load(real_data, "asean_membership.csv"), 12)
    assert (tls.iso3, tls.category, tls.date, tls.year) == ("TLS", "member", "2025-10-26", 2025)
    # asean_actip.csv row 12: TLS with empty status: ASEAN membership does not make it an ACTIP party
    actip = _row(_load(real_data, "asean_actip.csv"), 12)
    assert (actip.iso3, actip.category) == ("TLS", "unknown")


def test_sources_link_rows_to_citations(palermo):
    sources = palermo.records["membership_sources"]
    assert len(sources) == 197
    alb = sources[sources["source_row"] == 3].iloc[0]
    assert alb.iso3 == "ALB" and alb.source.startswith("https://whatconvention.org/en/ratifications/317 ; ")
    assert (alb.signed, alb.ratified_or_joined, alb.status_published) == ("2000-12-12", "2002-08-21", "party")


def test_frameworks_table(real_data):
    norm = _load(real_data, "frameworks.csv")
    table = norm.records["frameworks"]
    # frameworks.csv row 4: coe_cets197, regional convention, adopted 2005, in force 2008, GRETA
    coe = table[table["framework"] == "coe_cets197"].iloc[0]
    assert (coe.type, coe.adopted_year, coe.in_force_year, coe.source_row) == ("regional convention", 2005, 2008, 4)
    assert coe.monitoring_body.startswith("GRETA")
    assert len(norm.observations) == 0


def test_framework_recognised_by_content_not_name(real_data, tmp_path):
    copy = tmp_path / "export (3).csv"
    shutil.copy(real_data / FOLDER / "untoc_xviii_12.csv", copy)
    assert membership.read(copy).dataset == "untoc"
    own = tmp_path / "oas_members.csv"
    own.write_text(HEADER + "\nUSA,United States,member,,1948,https://example.org/oas,\n", encoding="utf-8")
    raw = membership.read(own)
    norm = membership.normalise(raw)
    assert raw.dataset == "oas_members"
    assert "taken from the file name" in " ".join(norm.notes)
    assert norm.observations.iloc[0].indicator == "membership_oas_members"


def test_bad_rows_are_quarantined(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("\n".join([
        HEADER,
        "FRA,France,party,,2002-10-29,https://treaties.un.org/ XVIII-12-a,",          # 2 ok
        "XXX,Nowhere,party,,2002,https://treaties.un.org/ XVIII-12-a,",               # 3 bad code
        "DEU,Germany,pary,,2006,https://treaties.un.org/ XVIII-12-a,",                # 4 bad status
        "ITA,Italy,party,,2006-13-02,https://treaties.un.org/ XVIII-12-a,",           # 5 bad date
        "ESP,France,party,,2002,https://treaties.un.org/ XVIII-12-a,",                # 6 code vs name
        "NLD,Netherlands,party,,2005,https://treaties.un.org/ XVIII-12-a,",           # 7 duplicate
        "NLD,Netherlands,party,,2005-07-27,https://treaties.un.org/ XVIII-12-a,",     # 8 duplicate
        ",Kenya,party,,2005,https://treaties.un.org/ XVIII-12-a,",                    # 9 name only
        ",European Union,party,,2006,https://treaties.un.org/ XVIII-12-a,",           # 10 organisation
        "CAR,Central Asia,party,,2006,https://treaties.un.org/ XVIII-12-a,",          # 11 aggregate code
    ]) + "\n", encoding="utf-8")
    norm = membership.normalise(membership.read(path))
    reasons = dict(zip(norm.quarantine["row_number"], norm.quarantine["reason"]))
    assert reasons[3] == "country not matched: XXX"
    assert reasons[4].startswith("status not recognised: 'pary'")
    assert reasons[5] == "date is not YYYY or YYYY-MM-DD: '2006-13-02'"
    assert reasons[6].startswith("iso3 ESP disagrees with the country name 'France'")
    assert reasons[11].startswith("not a country: CAR (GLOTIP 2023 release")
    assert sorted(reasons) == [3, 4, 5, 6, 11]
    assert (norm.rows_read, norm.rows_loaded) == (10, 5)
    assert _row(norm, 9).iso3 == "KEN"
    assert norm.records["membership_organisations"]["org_code"].tolist() == ["EUU"]
    nld = norm.observations[norm.observations["iso3"] == "NLD"]
    assert set(nld["status"]) == {"conflict"} and len(nld) == 2


def test_bad_files_raise_naming_the_file(real_data, tmp_path):
    source = real_data / FOLDER / "palermo_protocol_xviii_12_a.csv"
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    missing = tmp_path / "missing.csv"
    frame.drop(columns=["status"]).to_csv(missing, index=False)
    truncated = tmp_path / "truncated.csv"
    truncated.write_text(HEADER + "\nFRA,France,party,,2002\n", encoding="utf-8")
    cut = tmp_path / "cut.csv"   # the real file cut off inside a row
    data = source.read_bytes()
    cut.write_bytes(data[: data.index(b"\nALB,") + 20])
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes((HEADER + "\nCIV,Côte d'Ivoire,party,,2004,x,\n").encode("latin-1"))
    messages = {}
    for bad in (missing, truncated, cut, latin1):
        with pytest.raises(InputFileError) as info:
            membership.read(bad)
        assert str(bad) in str(info.value)
        messages[bad.name] = str(info.value)
    assert "missing column(s) status" in messages["missing.csv"]
    assert "truncated" in messages["truncated.csv"] and "row 2 " in messages["truncated.csv"]
    assert "truncated" in messages["cut.csv"] and "row 3 " in messages["cut.csv"]
    assert "not valid utf-8" in messages["latin1.csv"]


def test_detect_only_membership_files(real_data):
    for path in sorted(real_data.rglob("*")):
        if path.is_file() and path.suffix in (".csv", ".xlsx"):
            assert membership.detect(path) == (path.parent.name == FOLDER), path


def test_ingest_keeps_frameworks_apart(real_data, empty_store):
    paths = [real_data / FOLDER / name for name in sorted(FILES)]
    result = tl.ingest(paths, db=empty_store, edition="2025-11")
    assert {r["dataset"] for r in result} == {v[0] for v in FILES.values()}
    files = empty_store.files("membership")
    assert len(files) == len(FILES)
    counts = empty_store.table_counts()
    assert counts["observations"] == sum(v[4] for v in FILES.values())
    assert counts["records_membership_sources"] == sum(v[1] for k, v in FILES.items() if k != "frameworks.csv")
    assert counts["records_membership_organisations"] == 6   # EUU twice + 4 Bali organisations
    assert counts["records_frameworks"] == 13
    # loading the Palermo file again replaces only itself
    again = tl.ingest([real_data / FOLDER / "palermo_protocol_xviii_12_a.csv"], db=empty_store, edition="2025-11")
    assert [r["dataset"] for r in again[0]["replaced"]] == ["palermo_protocol"]
    assert empty_store.table_counts() == counts
