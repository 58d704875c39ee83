"""The report's lens and literature sections, on the embedded default plus the review example."""

from __future__ import annotations

import re

import pytest

import tiplens as tl
from tiplens._api_coding import lens_compare
from tiplens._api_lens import lens_network, lens_table
from tiplens._api_report import report
from tiplens._api_review import review_example, review_prisma

TIME = "2026-01-02T03:04:05+00:00"


DOCUMENT = """# Cooperation

States cooperate through international institutions and the Palermo Protocol to prosecute traffickers.
NGOs and transnational advocacy networks defend the human rights of victims.

# Borders

National security and border control come first for sovereign states.
"""


@pytest.fixture(scope="module")
def with_review(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sections")
    db = folder / "s.duckdb"
    tl.open_store(db, with_default=True).close()
    review_example(db=db)
    (folder / "note.md").write_text(DOCUMENT, encoding="utf-8")
    lens_compare([folder / "note.md"], db=db)
    first = report(db=db, out=folder / "a.html", generated_at=TIME, sections=["lens", "literature"])
    again = report(db=db, out=folder / "b.html", generated_at=TIME, sections=["lens", "literature"])
    return db, first, (folder / "a.html").read_text(encoding="utf-8"), (folder / "b.html").read_bytes()


def _block(text: str, view_id: str) -> str:
    match = re.search(rf'<figure class="tl-figure[^"]*" id="{view_id}".*?</figure>', text, flags=re.DOTALL)
    assert match, view_id
    return match.group(0)


def test_lens_section_shows_the_table_and_the_network(with_review):
    db, result, text, _ = with_review
    assert result["sections"] == ["lens", "literature"] and result["empty"] == []
    table = _block(text, "lens-table")
    # every row of the paper's Table, as the lens twin gives it (computed the other way: tl twin)
    expected = lens_table(db=db)
    assert len(re.findall(r"<tr[ >]", table)) == len(expected) + 1 == 8  # a header row and the paper's seven rows
    assert "GLO.ACT" in table and "UNODC, GLO.ACT overview page" in table
    network = _block(text, "lens-network")
    summary = lens_network(db=db)["summary"]
    assert f"{summary['countries']} countries, {summary['frameworks']} frameworks, {summary['edges']} ties" in network


def test_literature_section_draws_prisma_from_the_log(with_review):
    db, _, text, _ = with_review
    prisma = _block(text, "literature-prisma")
    counts = review_prisma(db=db)  # the review twin, computed from the same log
    assert "SYNTHETIC" in prisma and "<svg" in prisma
    assert f"{counts['identified']} records identified" in prisma and f"{counts['included']} included" in prisma
    assert "Studies included in review" in prisma  # SVG text stays text (searchable)
    agreement = _block(text, "literature-agreement")
    assert "cohen_kappa" in agreement and "pabak" in agreement


def test_sections_are_deterministic(with_review):
    _, _, text, again = with_review
    assert text.encode("utf-8") == again


def test_literature_section_profiles_the_coded_documents(with_review):
    db, _, text, _ = with_review
    coding = _block(text, "literature-coding")
    profile = lens_compare(db=db)  # the coding twin, read back from the store
    assert "Download the data behind this figure (CSV, " + str(len(profile)) + " rows)" in coding
    assert "Cooperation" in coding and "Borders" in coding
