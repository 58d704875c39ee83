"""Codings in the store: suggestions, decisions with audit trail, analysis tables, agreement, lenses."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from tiplens import _api_coding as coding
from tiplens.errors import TiplensError
from tiplens.review import codings as analysis
from tiplens.store import open_store

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_17f5d2a2eb818521.txt"
SEED_NAME = SEED.name


@pytest.fixture(scope="module")
def seed_path():
    if not SEED.is_file():
        pytest.skip(f"seed paper not found at {SEED}")
    return SEED


@pytest.fixture(scope="module")
def store(tmp_path_factory, seed_path):
    store = open_store(tmp_path_factory.mktemp("coding") / "s.duckdb", with_default=False)
    coding.code([seed_path], db=store)
    yield store
    store.close()


def _counts(store):
    return {t: len(store.read_rows(t)) for t in ("coding_documents", "coding_segments", "coding_suggestions",
                                                   "coding_decisions", "coding_codebooks")}


def test_code_returns_the_contract_columns(store, seed_path):
    rows = coding.code([seed_path], db=store)
    assert list(rows.columns[:6]) == ["document", "segment", "text", "code", "score", "method"]
    assert set(rows["method"]) == {"dictionary"} and set(rows["document"]) == {SEED_NAME}
    assert rows["score"].between(0, 1).all() and rows["evidence"].str.startswith("matched: ").all()
    stored = store.read_rows("coding_suggestions", where={"codebook": "liberalism", "method": "dictionary"})
    assert len(stored) == len(rows) and set(stored["id"]) == set(rows["id"])


def test_recoding_replaces_and_keeps_decisions(store, seed_path):
    before = _counts(store)
    first = coding.codings_list(db=store, codebook="liberalism").iloc[0]
    coding.codings_accept([int(first["id"])], db=store, coder="carol", note="clear case")
    coding.code([seed_path], db=store)
    after = _counts(store)
    assert after["coding_suggestions"] == before["coding_suggestions"]
    assert after["coding_segments"] == before["coding_segments"]
    assert after["coding_decisions"] == before["coding_decisions"] + 1
    again = coding.codings_list(db=store, codebook="liberalism", document=SEED_NAME)
    assert int(first["id"]) in set(again["id"])  # the same suggestion keeps its id
    row = again[(again["segment"] == first["segment"]) & (again["code"] == first["code"])].iloc[0]
    assert row["status"] == "accepted" and "carol" in row["accepted_by"]


def test_decisions_are_an_append_only_audit_trail(store):
    listed = coding.codings_list(db=store, codebook="liberalism")
    target = int(listed.iloc[5]["id"])
    coding.codings_accept([target], db=store, coder="dan")
    coding.codings_reject([target], db=store, coder="dan", note="changed my mind")
    trail = store.read_rows("coding_decisions", where={"coder": "dan"}, order_by=["decision_id"])
    assert trail["decision"].tolist() == ["accept", "reject"]
    assert trail["note"].tolist() == ["", "changed my mind"]
    row = coding.codings_list(db=store).set_index("id").loc[target]
    assert row["status"] == "rejected" and row["rejected_by"] == "dan" and pd.isna(row["accepted_by"])
    coding.codings_accept([target], db=store, coder="erin")
    row = coding.codings_list(db=store).set_index("id").loc[target]
    assert (row["status"], row["accepted_by"], row["rejected_by"]) == ("disputed", "erin", "dan")


def test_a_person_can_add_a_code_no_coder_suggested(store):
    segments = store.read_rows("coding_segments")
    suggested = store.read_rows("coding_suggestions", where={"codebook": "liberalism"})
    none = min(set(segments["segment"]) - set(suggested[suggested["code"] == "root_causes"]["segment"]))
    coding.codings_accept(db=store, coder="frank", document=SEED_NAME, segment=int(none), code="root_causes")
    added = coding.codings_list(db=store, method="person")
    assert ((added["segment"] == none) & (added["code"] == "root_causes") & (added["accepted_by"] == "frank")).any()


def test_bad_decisions_change_nothing(store):
    before = _counts(store)
    with pytest.raises(TiplensError, match=r"coding 99999999: no such suggestion"):
        coding.codings_accept([99999999], db=store, coder="x")
    with pytest.raises(TiplensError, match=r"has no segment 100000"):
        coding.codings_accept(db=store, coder="x", document=SEED_NAME, segment=100000, code="rule_of_law")
    with pytest.raises(TiplensError, match=r"no code 'nonsense'"):
        coding.codings_accept(db=store, coder="x", document=SEED_NAME, segment=1, code="nonsense")
    with pytest.raises(TiplensError, match=r"'nowhere.txt' has not been coded"):
        coding.codings_accept(db=store, coder="x", document="nowhere.txt", segment=1, code="rule_of_law")
    assert _counts(store) == before


def test_a_bad_document_among_good_ones_stores_nothing(store, seed_path, tmp_path):
    (tmp_path / "empty.pdf").write_bytes(b"")
    before = _counts(store)
    with pytest.raises(TiplensError, match=r"empty\.pdf: the PDF file is empty"):
        coding.code([seed_path, tmp_path / "empty.pdf"], db=store, codebook="realism")
    assert _counts(store) == before


def test_query_and_or_not():
    codings = pd.DataFrame({"document": ["d"] * 5, "segment": [1, 1, 2, 3, 3],
                            "code": ["a", "b", "a", "b", "c"]})
    # By hand: segment 1 {a, b}, segment 2 {a}, segment 3 {b, c}.
    assert analysis.query(codings, "a AND b")["segment"].tolist() == [1]
    assert analysis.query(codings, "a OR c")["segment"].tolist() == [1, 2, 3]
    assert analysis.query(codings, "b AND NOT a")["segment"].tolist() == [3]
    assert analysis.query(codings, "(a OR c) AND b")["segment"].tolist() == [1, 3]
    assert analysis.query(codings, "a OR b AND c")["segment"].tolist() == [1, 2, 3]  # AND binds tighter
    with pytest.raises(TiplensError, match="a '\\(' is not closed"):
        analysis.query(codings, "(a OR b")
    with pytest.raises(TiplensError, match="unknown code\\(s\\) zz"):
        analysis.query(codings, "a AND zz", known_codes=["a", "b", "c"])


def test_cooccurrence_and_frequencies_by_hand():
    codings = pd.DataFrame({"document": ["d"] * 5, "segment": [1, 1, 2, 3, 3],
                            "code": ["a", "b", "a", "b", "c"]})
    segments = pd.DataFrame({"document": ["d"] * 4, "segment": [1, 2, 3, 4], "section": ["s1", "s1", "s2", "s2"]})
    matrix = analysis.cooccurrence(codings)
    assert matrix.loc["a"].tolist() == [2, 1, 0] and matrix.loc["b"].tolist() == [1, 2, 1]
    freq = analysis.frequencies(codings, segments).set_index(["section", "code"])
    # s1 has segments 1, 2 (a twice, b once); s2 has 3, 4 (b, c once each).
    assert freq.loc[("s1", "a"), ["segments", "group_segments", "share"]].tolist() == [2, 2, 1.0]
    assert freq.loc[("s2", "c"), "share"] == 0.5


def test_agreement_person_and_machine_by_hand():
    segments = pd.DataFrame({"document": ["d"] * 4, "segment": [1, 2, 3, 4]})
    suggestions = pd.DataFrame({"document": ["d", "d"], "segment": [1, 2], "code": ["a", "a"],
                                "method": ["dictionary"] * 2})
    now = pd.Timestamp("2026-01-01")
    decisions = pd.DataFrame({
        "decision_id": [1, 2, 3, 4], "document": ["d"] * 4, "segment": [1, 2, 3, 4], "codebook": ["k"] * 4,
        "code": ["a", "a", "a", "a"], "decision": ["accept", "reject", "accept", "reject"], "coder": ["p"] * 4,
        "decided_at": [now] * 4})
    table = analysis.agreement(segments, suggestions, decisions, ["a"])
    kappa = table[(table["code"] == "a") & (table["statistic"] == "cohen_kappa")].iloc[0]
    # By hand: person 1,0,1,0; machine 1,1,0,0 -> po = 2/4, pe = (2/4)(2/4) + (2/4)(2/4) = 0.5 -> kappa 0.
    assert (kappa["rater_a"], kappa["rater_b"], kappa["n_items"]) == ("machine:dictionary", "p", 4)
    assert kappa["value"] == pytest.approx(0.0)
    pabak = table[(table["code"] == "a") & (table["statistic"] == "pabak")]["value"].iloc[0]
    assert pabak == pytest.approx(2 * 0.5 - 1)


def test_codings_agree_on_the_store(store):
    table = coding.codings_agree(db=store)
    assert {"all codes", "cooperation"} <= set(table["code"])
    assert "machine:dictionary" in set(table["rater_a"]) | set(table["rater_b"])
    with pytest.raises(TiplensError, match="no decisions on codebook realism"):
        coding.codings_agree(db=store, codebook="realism")


def test_lens_comparison_on_the_seed_paper(store, seed_path):
    frame = coding.lens_compare([seed_path], db=store)
    whole = frame[frame["section"] == "(whole document)"].iloc[0]
    # The seed paper reads trafficking through liberalism: its vocabulary dominates the whole text.
    assert whole["dominant"] == "liberalism"
    assert whole["segments"] == len(store.read_rows("coding_segments", where={"document": SEED_NAME}))
    for lens in ("liberalism", "realism", "constructivism"):
        assert 0 < whole[f"{lens}_share"] < 1
        assert whole[f"{lens}_segments"] == store.read_rows(
            "coding_suggestions", where={"codebook": lens, "method": "dictionary"})["segment"].nunique()
    sections = frame["section"].tolist()
    assert sections.index("1. INTRODUCTION") < sections.index("5. CONCLUSION") < sections.index("(whole document)")
    assert frame["caveat"].str.contains("vocabularies differ").all()
    stored_only = coding.lens_compare(db=store)
    assert stored_only.equals(frame)


def test_export_tables(store, tmp_path):
    result = coding.codings_export(tmp_path / "quotes.csv", db=store, table="quotes")
    frame = pd.read_csv(tmp_path / "quotes.csv")
    assert result["rows"] == len(frame) and {"code", "section", "page", "text"} <= set(frame.columns)
    coding.codings_export(tmp_path / "trail.xlsx", db=store, table="decisions")
    trail = pd.read_excel(tmp_path / "trail.xlsx", engine="calamine")
    assert len(trail) == len(store.read_rows("coding_decisions"))
    coding.codings_export(tmp_path / "co.csv", db=store, table="cooccurrence")
    co = pd.read_csv(tmp_path / "co.csv").set_index("code")
    assert (co.values == co.values.T).all()
    with pytest.raises(TiplensError, match="--table 'bogus'"):
        coding.codings_export(tmp_path / "x.csv", db=store, table="bogus")


def test_export_neutralises_formulas():
    from tiplens._spreadsheet import safe_frame  # the one rule every CSV/Excel export uses
    frame = safe_frame(pd.DataFrame({"text": ["=1+1", "plain", "@SUM(A1)", ' "=2'], "n": [1, 2, 3, 4]}))
    assert frame["text"].tolist() == ["'=1+1", "plain", "'@SUM(A1)", "' \"=2"]


def test_codebook_import_export_and_resolution(store, tmp_path):
    exported = coding.codebook_export("realism", tmp_path / "realism.qdc", db=store)
    assert exported["codes"] == 3
    text = (tmp_path / "realism.qdc").read_text(encoding="utf-8").replace("version: '1.0'", "version: '1.1'")
    (tmp_path / "realism11.qdc").write_text(text, encoding="utf-8")
    result = coding.codebook_import(tmp_path / "realism11.qdc", db=store)
    assert (result["name"], result["version"], result["replaced"]) == ("realism", "1.1", False)
    assert coding.resolve_codebook("realism", store=store).version == "1.1"
    listed = coding.codebook_list(db=store)
    assert listed[(listed["name"] == "realism")]["origin"].tolist() == ["shipped", "imported"]
    shown = coding.codebook_show("realism", db=store)
    assert shown["codebook"]["origin"] == "store" and len(shown["codes"]) == 3


def test_bad_codebook_import_changes_nothing(store, tmp_path):
    (tmp_path / "dup.yaml").write_text("name: dup\nversion: '1'\ncodes:\n- {code: a, definition: A}\n"
                                       "- {code: a, definition: B}\n", encoding="utf-8")
    before = _counts(store)
    with pytest.raises(TiplensError, match=r"dup\.yaml: code 'a': duplicate code"):
        coding.codebook_import(tmp_path / "dup.yaml", db=store)
    assert _counts(store) == before
    with pytest.raises(TiplensError, match=r"--codebook 'nope': no such codebook"):
        coding.resolve_codebook("nope", store=store)


def test_codebook_from_a_file_codes_directly(store, seed_path, tmp_path):
    (tmp_path / "mine.yaml").write_text(
        "name: mine\nversion: '0.1'\ncodes:\n- code: pandemic\n  definition: The COVID-19 pandemic.\n"
        "  keywords: [pandemic*, COVID-19, lockdown*]\n", encoding="utf-8")
    rows = coding.code([seed_path], db=store, codebook=tmp_path / "mine.yaml")
    # By grep on the seed paper: the sentences that mention the pandemic, COVID-19 or lockdowns.
    text = seed_path.read_text(encoding="utf-8")
    assert len(rows) > 0 and set(rows["code"]) == {"pandemic"}
    assert all(("pandemic" in t.lower() or "covid-19" in t.lower() or "lockdown" in t.lower()) for t in rows["text"])
    assert text.lower().count("lockdown") >= 1
    assert not math.isnan(rows["score"].mean())
