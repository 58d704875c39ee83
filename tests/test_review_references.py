"""Importing references: BibTeX, RIS, CSV, ASReview; every field kept; duplicates found and reported."""

import json
from pathlib import Path

import pytest

import tiplens
from tiplens._api_review import example_files, review_import
from tiplens.errors import TiplensError
from tiplens.review.references import (
    library,
    normalise_doi,
    normalise_text,
    read_references,
)

SEED_TEXT = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_17f5d2a2eb818521.txt"

RIS = """TY  - JOUR
ID  - ris1
TI  - Trafficking and Technology: exploring the role of digital communication technologies
AU  - Raets, S.
AU  - Janssens, J.
PY  - 2021
DO  - https://doi.org/10.1007/S10610-020-09429-Z
KW  - trafficking
N1  - a note that must survive the import
ER  - 

TY  - JOUR
ID  - ris2
TI  - Taking Preferences Seriously -- a Liberal Theory of International Politics
AU  - Moravcsik, Andrew
PY  - 1997
JO  - International Organization
ER  - 

TY  - BOOK
ID  - ris3
TI  - After hegemony: Cooperation and discord in the world political economy
AU  - Keohane, Robert O.
PY  - 1984
ER  - 
"""

CSV = """title,authors,year,doi,journal,database_note
Trafficking and technology,Raets S.; Janssens J.,2021,10.1007/s10610-020-09429-z,Eur J Crim Policy Res,from Scopus
Modern slavery in supply chains,Doe J.,2020,,Journal X,from Scopus
"""


@pytest.fixture
def store(tmp_path):
    s = tiplens.open_store(tmp_path / "r.duckdb", with_default=False)
    yield s
    s.close()


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_seed_library_has_the_papers_eighteen_references(store):
    result = review_import(example_files()["references"], db=store)
    # the seed paper's REFERENCES section lists items [1] to [19] (counted by hand)
    assert result["records"] == 19 and result["duplicates"] == []
    records = library(store).set_index("key")
    porter = records.loc["porter1995toward"]
    assert (porter["first_author"], porter["year"]) == ("Porter", 1995)
    assert porter["authors"] == "Porter, M. E.; van der Linde, C."
    fields = json.loads(porter["fields"])
    assert fields["seedref"] == "8" and fields["volume"] == "9" and fields["ENTRYTYPE"] == "article"
    # the paper gives no DOI for any reference, so none is invented
    assert records["doi"].isna().all()
    assert sorted(int(json.loads(f)["seedref"]) for f in records["fields"]) == list(range(1, 20))


@pytest.mark.skipif(not SEED_TEXT.is_file(), reason="seed paper text not beside the repository")
def test_seed_library_matches_the_paper_text():
    text = SEED_TEXT.read_text(encoding="utf-8").split("## REFERENCES", 1)[1]
    items = [line for line in text.splitlines() if line.startswith("- [")]
    _, records = read_references(example_files()["references"])
    assert len(records) == len(items)
    for record in records:
        number = int(json.loads(record["fields"])["seedref"])
        line = items[number - 1]
        # each typed title appears in the paper's item (after undoing BibTeX dashes)
        assert record["title"][:40].lower() in line.lower(), (number, record["title"])
        assert str(record["year"]) in line


def test_duplicates_by_doi_and_by_title_year_author(store, tmp_path):
    review_import(example_files()["references"], db=store)
    ris = _write(tmp_path, "scopus.ris", RIS)
    result = review_import(ris, db=store)
    merges = {m["record_id"]: m for m in result["duplicates"]}
    # ris2: title differs only in case/punctuation, same year and first author -> duplicate of Moravcsik R0017
    # ris1: has a DOI but the seed entry has none; its title is longer, so it is NOT matched to R0012;
    # ris3: same title and author as Keohane R0003, but 1984 vs 2005 -> not a duplicate
    assert list(merges) == ["R0021"]
    assert merges["R0021"]["kept_id"] == "R0017" and merges["R0021"]["rule"] == "title_year_author"
    # the CSV repeats ris1 by DOI (upper/lower case and resolver prefix differ)
    csv = _write(tmp_path, "wos.csv", CSV)
    result = review_import(csv, db=store)
    assert [(m["record_id"], m["kept_id"], m["rule"]) for m in result["duplicates"]] == [("R0023", "R0020", "doi")]
    assert result["duplicates"][0]["match"] == "10.1007/s10610-020-09429-z"
    assert result["library"] == {"records": 24, "unique": 22}
    merges_table = store.read_rows("review_merges")
    assert len(merges_table) == 2


def test_every_field_is_kept(store, tmp_path):
    review_import(_write(tmp_path, "a.ris", RIS), db=store)
    first = library(store, include_duplicates=True).iloc[0]
    fields = json.loads(first["fields"])
    assert fields["notes"] == ["a note that must survive the import"] and fields["keywords"] == ["trafficking"]
    review_import(_write(tmp_path, "b.csv", CSV), db=store)
    csv_row = json.loads(library(store, include_duplicates=True).iloc[-1]["fields"])
    assert csv_row["database_note"] == "from Scopus"


def test_asreview_export_is_read_with_its_labels(store, tmp_path):
    export = _write(tmp_path, "asreview_result.csv",
                    "record_id,title,abstract,authors,year,doi,included,asreview_ranking\n"
                    "0,Human trafficking online,Abstract text,Latonero M.,2011,,1,1\n"
                    "1,Something else,,Doe J.,2019,10.5/xyz,0,2\n")
    result = review_import(export, db=store)
    assert result["files"][0]["format"] == "asreview" and result["records"] == 2
    row = json.loads(library(store).iloc[0]["fields"])
    assert row["included"] == "1" and row["asreview_ranking"] == "1"


def test_same_file_twice_is_skipped(store):
    path = example_files()["references"]
    review_import(path, db=store)
    again = review_import(path, db=store)
    assert again["records"] == 0 and "already imported" in again["files"][0]["skipped"]
    assert len(library(store, include_duplicates=True)) == 19


def test_bibtex_syntax_error_names_the_line_and_stores_nothing(store, tmp_path):
    review_import(example_files()["references"], db=store)
    good = _write(tmp_path, "good.bib", "@article{x1, title={Fine}, author={A, B}, year={2001}}\n")
    bad = _write(tmp_path, "bad.bib",
                 "@article{ok, title={Fine}, year={2000}}\n\n"
                 "@article{broken, title={Unclosed, year=2001}\n\n"
                 "@article{later, title={Z}, year={2002}}\n")
    with pytest.raises(TiplensError, match=r"bad\.bib: line 3:"):
        review_import([good, bad], db=store)
    # neither the good file nor anything else was added
    assert len(library(store, include_duplicates=True)) == 19
    assert len(store.read_rows("review_imports")) == 1


def test_duplicate_bibtex_key_is_an_error(tmp_path):
    path = _write(tmp_path, "dup.bib", "@book{a, title={X}, year={1}}\n@book{a, title={Y}, year={2}}\n")
    with pytest.raises(TiplensError, match=r"line 2: BibTeX syntax error: Duplicate entry key 'a'"):
        read_references(path)


@pytest.mark.parametrize("text, line, what", [
    ("TY  - JOUR\nTI  - A\nER  - \nstray text here\n", 4, "outside a record"),
    ("TY  - JOUR\nTI  - A\nTY  - BOOK\nER  - \n", 3, "before the previous one"),
    ("TY  - JOUR\nTI  - A\n", 1, "no 'ER  - '"),
])
def test_ris_structure_errors_name_the_line(tmp_path, text, line, what):
    path = _write(tmp_path, "bad.ris", text)
    with pytest.raises(TiplensError, match=rf"line {line}: .*{what}"):
        read_references(path)


def test_csv_row_without_title_or_doi_names_the_row(tmp_path):
    path = _write(tmp_path, "x.csv", "title,doi,year\nA title,,2000\n,,2001\n")
    with pytest.raises(TiplensError, match=r"x\.csv, row 3: the record has neither a title nor a DOI"):
        read_references(path)


def test_unknown_and_empty_files(tmp_path):
    with pytest.raises(TiplensError, match="empty"):
        read_references(_write(tmp_path, "e.bib", "  \n"))
    with pytest.raises(TiplensError, match="not a reference file"):
        read_references(_write(tmp_path, "n.json", '{"a": 1}'))


def test_normalisers():
    assert normalise_doi(" https://dx.doi.org/10.1/ABC ") == "10.1/abc"
    assert normalise_doi("doi:10.1/x") == "10.1/x"
    assert normalise_text("Côte d'Ivoire — Trafficking!") == "cote d ivoire trafficking"


def test_a_third_copy_matching_only_a_duplicates_doi_is_found(store, tmp_path):
    review_import(example_files()["references"], db=store)
    # Scopus copy of Moravcsik 1997: same title/year/author as seed item [17] (which has no DOI), with a DOI
    ris = _write(tmp_path, "scopus.ris", "TY  - JOUR\nTI  - Taking Preferences Seriously: A Liberal Theory of "
                 "International Politics\nAU  - Moravcsik, Andrew\nPY  - 1997\nDO  - 10.1162/002081897550447\n"
                 "ER  - \n")
    # Web of Science copy: same DOI behind a resolver, author written 'Moravcsik A'
    wos = _write(tmp_path, "wos.csv", "title,authors,year,doi\nTaking preferences seriously,Moravcsik A,1997,"
                 "https://doi.org/10.1162/002081897550447\n")
    result = review_import([ris, wos], db=store)
    assert [(d["record_id"], d["kept_id"], d["rule"]) for d in result["duplicates"]] == [
        ("R0020", "R0017", "title_year_author"), ("R0021", "R0017", "doi")]
    assert library(store, include_duplicates=True).set_index("record_id").loc["R0021", "first_author"] == "Moravcsik"


def test_bibtex_error_message_says_what_is_wrong(tmp_path):
    path = _write(tmp_path, "cut.bib", "@article{ok, title={Fine}, year={2000}}\n\n@article{cut, title={Unclosed\n")
    with pytest.raises(TiplensError, match=r"cut\.bib: line 3: BibTeX syntax error: Unexpectedly reached end of file"):
        read_references(path)


def test_asreview_labels_become_decisions_when_asked(store, tmp_path):
    from tiplens.review.screening import screening_log
    review_import(example_files()["references"], db=store)
    export = _write(tmp_path, "asreview_v2.csv",
                    "record_id,title,authors,year,doi,asreview_label,asreview_time,asreview_note\n"
                    "0,Human trafficking online: The role of social networking sites and online classifieds,"
                    "Latonero M.,2011,,1,2025-09-07T11:00:00Z,online recruitment\n"
                    "1,Something else,Doe J.,2019,10.5/xyz,0,2025-09-07T11:05:00Z,\n"
                    "2,Not yet seen,Roe K.,2020,,,,\n")
    result = review_import(export, db=store, asreview_reviewer="asr")
    # row 0 repeats seed item [14] (Latonero 2011): its label is recorded for R0014; row 2 is unlabelled
    assert result["decisions"] == 2 and result["duplicates"][0]["kept_id"] == "R0014"
    log = screening_log(store)
    assert log[["record_id", "decision", "reason"]].values.tolist() == [
        ["R0014", "include", "online recruitment"], ["R0021", "exclude", "ASReview label (asreview_label)"]]
    assert str(log["decided_at"].iloc[0]) == "2025-09-07 11:00:00"
    assert log["origin"].tolist() == ["asreview_v2.csv, line 2", "asreview_v2.csv, line 3"]


def test_asreview_labels_are_ignored_unless_asked(store, tmp_path):
    from tiplens.review.screening import screening_log
    export = _write(tmp_path, "asr.csv", "record_id,title,year,included\n0,A title,2000,1\n")
    assert review_import(export, db=store)["decisions"] == 0
    assert screening_log(store).empty
