"""The screening log: decisions from the command line and from CSV, status, conflicts, agreement."""

import csv

import pandas as pd
import pytest
from statsmodels.stats import inter_rater

import tiplens
from tiplens._api_review import (
    example_files,
    review_agree,
    review_example,
    review_import,
    review_screen,
    review_status,
)
from tiplens.errors import TiplensError
from tiplens.review.screening import screening_log


@pytest.fixture(scope="module")
def example_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("example") / "ex.duckdb"
    tiplens.open_store(path, with_default=False).close()  # the review needs no embedded country data
    review_example(path)
    return path


@pytest.fixture
def store(tmp_path):
    s = tiplens.open_store(tmp_path / "s.duckdb", with_default=False)
    review_import(example_files()["references"], db=s)
    yield s
    s.close()


def _synthetic_rows():
    with open(example_files()["screening"], encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def test_synthetic_log_is_labelled_everywhere():
    text = example_files()["screening"].read_text(encoding="utf-8")
    assert text.startswith("# SYNTHETIC EXAMPLE - NOT A REAL SCREENING")
    rows = _synthetic_rows()
    assert all(r["synthetic"] == "yes" and r["reviewer"].startswith("SYNTHETIC-") for r in rows)


def test_example_stores_every_decision_and_resolves_every_conflict(example_db):
    log = tiplens.open_store(example_db, read_only=True)
    try:
        stored = screening_log(log)
    finally:
        log.close()
    assert len(stored) == len(_synthetic_rows()) == 77  # 19 + 19 + 3 finals + 17 + 17 + 2 finals
    assert stored["synthetic"].all()
    status = review_status(example_db)
    assert len(status) == 19 and status["status"].str.startswith("conflict").sum() == 0
    by_key = status.set_index("key")["status"]
    assert by_key["porter1995toward"] == "excluded_title_abstract"
    assert by_key["lathamsprinkle2019migrants"] == "not_retrieved"
    assert by_key["brysk2019introduction"] == "included"      # conflict at title/abstract, resolved by consensus
    assert by_key["hynes2024introduction"] == "excluded_full_text"  # conflict at full text, resolved: exclude


def _hand_ratings(stage):
    rows = [r for r in _synthetic_rows() if r["stage"] == stage and r["final"] != "yes"]
    frame = pd.DataFrame(rows).pivot(index="record", columns="reviewer", values="decision")
    return frame["SYNTHETIC-A"], frame["SYNTHETIC-B"]


def test_example_agreement_title_abstract(example_db):
    table = review_agree(example_db).set_index("statistic")
    # by hand from the CSV: 19 records, A includes 16, B includes 15, they differ on 3 (brysk, hynes, risse)
    # po = 16/19; pe = (16*15 + 3*4)/19^2 = 252/361; kappa = (po - pe)/(1 - pe)
    po, pe = 16 / 19, 252 / 361
    assert table.loc["cohen_kappa", "value"] == pytest.approx((po - pe) / (1 - pe))
    assert table.loc["cohen_kappa", "value"] == pytest.approx(0.4771, abs=1e-4)
    assert table.loc["pabak", "value"] == pytest.approx(2 * po - 1)
    a, b = _hand_ratings("title_abstract")
    crosstab = pd.crosstab(a, b).to_numpy()
    assert table.loc["cohen_kappa", "value"] == pytest.approx(inter_rater.cohens_kappa(crosstab).kappa)
    assert table.loc["cohen_kappa", "n_items"] == 19
    assert table["note"].str.startswith("SYNTHETIC").all()


def test_example_agreement_full_text(example_db):
    table = review_agree(example_db, stage="full_text").set_index("statistic")
    # 17 reports; each reviewer excludes 4, they differ on 2 (hynes, donnelly): po = 15/17, pe = (13^2 + 4^2)/17^2
    po, pe = 15 / 17, 185 / 289
    assert table.loc["cohen_kappa", "value"] == pytest.approx((po - pe) / (1 - pe))
    assert table.loc["pabak", "value"] == pytest.approx(2 * po - 1)
    assert table.loc["cohen_kappa", "n_items"] == 17


def test_decisions_from_the_command_line_and_conflicts(store):
    result = review_screen(["R0001", "cho2015modelling"], db=store, reviewer="ann", decision="include",
                           time="2025-01-01T10:00")
    assert result["added"] == 2 and result["status"]["awaiting_full_text"] == 2
    result = review_screen(["R0001"], db=store, reviewer="bo", decision="exclude", reason="off topic")
    assert list(result["conflicts"]["record_id"]) == ["R0001"]
    assert result["conflicts"].iloc[0]["decisions"] == "ann: include; bo: exclude (off topic)"
    # bo changes his mind: a new, later decision; the old one stays in the log
    result = review_screen(["R0001"], db=store, reviewer="bo", decision="include")
    assert result["conflicts"].empty
    assert len(screening_log(store)) == 4
    # a final decision overrides the reviewers
    review_screen(["R0002"], db=store, reviewer="bo", decision="exclude")
    result = review_screen(["R0002"], db=store, reviewer="chair", decision="exclude", final=True)
    assert result["conflicts"].empty and result["status"]["excluded_title_abstract"] == 1


def test_decision_on_a_duplicate_goes_to_the_record_it_repeats(store, tmp_path):
    dup = tmp_path / "dup.bib"
    dup.write_text("@article{copy, author={Cho, S.-Y.}, title={Modelling for Determinants of Human Trafficking},"
                   " year={2015}}\n", encoding="utf-8")
    imported = review_import(dup, db=store)
    assert imported["duplicates"][0]["kept_id"] == "R0002"
    result = review_screen(["R0020"], db=store, reviewer="ann", decision="include")
    assert result["decisions"]["record_id"].tolist() == ["R0002"]
    assert result["notes"] == ["R0020 is a duplicate of R0002: the decision is recorded for R0002"]


def test_csv_with_unknown_record_names_the_line_and_stores_nothing(store, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("# my decisions\nrecord,reviewer,stage,decision,reason,time\n"
                    "R0001,ann,title_abstract,include,,2025-01-01\n"
                    "R0999,ann,title_abstract,exclude,off topic,2025-01-01\n", encoding="utf-8")
    with pytest.raises(TiplensError, match=r"mine\.csv, row 4: record 'R0999' is not in the review library"):
        review_screen(db=store, csv=path)
    assert screening_log(store).empty


@pytest.mark.parametrize("line, message", [
    ("R0001,ann,abstract,include,,", "stage 'abstract' is not valid"),
    ("R0001,ann,title_abstract,maybe,,", "decision 'maybe' is not valid"),
    ("R0001,ann,full_text,exclude,,", "a full-text exclusion needs a reason"),
    ("R0001,,title_abstract,include,,", "no reviewer named"),
    ("R0001,ann,title_abstract,include,,yesterday", "time 'yesterday' is not a date-time"),
])
def test_csv_bad_values_name_the_row(store, tmp_path, line, message):
    path = tmp_path / "bad.csv"
    path.write_text("record,reviewer,stage,decision,reason,time\n" + line + "\n", encoding="utf-8")
    with pytest.raises(TiplensError, match=rf"bad\.csv, row 2: {message}"):
        review_screen(db=store, csv=path)
    assert screening_log(store).empty


def test_screen_needs_a_library_and_a_reviewer(tmp_path, store):
    empty = tiplens.open_store(tmp_path / "empty.duckdb", with_default=False)
    try:
        with pytest.raises(TiplensError, match="library is empty"):
            review_screen(["R0001"], db=empty, reviewer="ann", decision="include")
    finally:
        empty.close()
    with pytest.raises(TiplensError, match="needs --reviewer and --decision"):
        review_screen(["R0001"], db=store, decision="include")


def test_agreement_needs_two_reviewers(store):
    review_screen(["R0001"], db=store, reviewer="ann", decision="include")
    with pytest.raises(TiplensError, match="at least two reviewers"):
        review_agree(store)


def test_example_twice_does_not_double_the_log(tmp_path):
    path = tmp_path / "twice.duckdb"
    tiplens.open_store(path, with_default=False).close()
    review_example(path)
    second = review_example(path)
    assert second["import"]["records"] == 0 and second["screen"]["added"] == 0
    assert len(review_status(path)) == 19


def test_example_refuses_a_store_with_a_real_library(store):
    # the fixture's library came from 'seed_paper' (a user's own import), not from the example
    with pytest.raises(TiplensError, match="store of its own"):
        review_example(store)
    assert screening_log(store).empty
