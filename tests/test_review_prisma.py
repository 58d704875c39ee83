"""PRISMA 2020 counts derived from the log, their sums, and the diagram files."""

import random

import matplotlib.image
import pytest

import tiplens
from tiplens._api_review import (
    example_files,
    review_example,
    review_import,
    review_prisma,
    review_screen,
)
from tiplens.errors import TiplensError


@pytest.fixture(scope="module")
def example_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("prisma") / "p.duckdb"
    tiplens.open_store(path, with_default=False).close()  # the review needs no embedded country data
    review_example(path)
    return path


def _sums_hold(c):
    assert c["identified"] == sum(c["identified_by_source"].values())
    assert c["identified"] == c["duplicates_removed"] + c["screened"]
    assert c["screened"] == (c["excluded_title_abstract"] + c["awaiting_title_abstract"]
                             + c["conflict_title_abstract"] + c["sought_for_retrieval"])
    assert c["sought_for_retrieval"] == (c["not_retrieved"] + c["assessed_full_text"] + c["awaiting_full_text"]
                                         + c["conflict_full_text"])
    assert c["assessed_full_text"] == c["excluded_full_text"] + c["included"]
    assert c["excluded_full_text"] == sum(c["excluded_full_text_reasons"].values())


def test_example_counts(example_db, tmp_path):
    c = review_prisma(example_db, svg=tmp_path / "p.svg", png=tmp_path / "p.png")
    # by hand from screening_synthetic.csv: both reviewers exclude porter and lombard at title/abstract;
    # latham-sprinkle is 'not retrieved'; citaristi, bales and (after consensus) hynes are excluded at
    # full text; the other 13 of the 19 records are included
    assert (c["identified"], c["duplicates_removed"], c["screened"]) == (19, 0, 19)
    assert (c["excluded_title_abstract"], c["sought_for_retrieval"], c["not_retrieved"]) == (2, 17, 1)
    assert (c["assessed_full_text"], c["excluded_full_text"], c["included"]) == (16, 3, 13)
    assert c["excluded_full_text_reasons"] == {"no analysis of the international response": 2,
                                               "not a research publication": 1}
    assert c["synthetic"] and "SYNTHETIC" in c["note"]
    _sums_hold(c)
    svg = (tmp_path / "p.svg").read_text(encoding="utf-8")
    assert "Studies included in review" in svg and "(n = 13)" in svg and "SYNTHETIC EXAMPLE" in svg
    image = matplotlib.image.imread(tmp_path / "p.png")
    assert image.shape[0] > 1000 and image.shape[1] > 1000
    assert c["files"] == {"svg": str(tmp_path / "p.svg"), "png": str(tmp_path / "p.png")}


def test_counts_add_up_for_partial_random_logs(tmp_path):
    store = tiplens.open_store(tmp_path / "r.duckdb", with_default=False)
    try:
        review_import(example_files()["references"], db=store)
        dup = tmp_path / "dup.ris"
        dup.write_text("TY  - JOUR\nTI  - Human trafficking\nAU  - Shelley, Louise\nPY  - 2010\nER  - \n",
                       encoding="utf-8")
        review_import(dup, db=store, source="second database")
        rng = random.Random(7)
        lines = ["record,reviewer,stage,decision,reason"]
        for record in [f"R{i:04d}" for i in range(1, 20)]:
            for reviewer in ("ann", "bo"):
                if rng.random() < 0.85:
                    lines.append(f"{record},{reviewer},title_abstract,{rng.choice(['include', 'exclude'])},")
                if rng.random() < 0.6:
                    decision = rng.choice(["include", "exclude"])
                    reason = rng.choice(["off topic", "not retrieved"]) if decision == "exclude" else ""
                    lines.append(f"{record},{reviewer},full_text,{decision},{reason}")
        log = tmp_path / "random.csv"
        log.write_text("\n".join(lines) + "\n", encoding="utf-8")
        review_screen(db=store, csv=log)
        c = review_prisma(store)
    finally:
        store.close()
    assert c["identified_by_source"] == {"seed_paper": 19, "second database": 1}
    assert c["duplicates_removed"] == 1  # Shelley 2010 'Human trafficking' again
    assert c["awaiting_title_abstract"] + c["conflict_title_abstract"] > 0
    _sums_hold(c)


def test_prisma_on_an_empty_library(tmp_path):
    with pytest.raises(TiplensError, match="library is empty"):
        tiplens.open_store(tmp_path / "none.duckdb", with_default=False).close()
        review_prisma(tmp_path / "none.duckdb")
