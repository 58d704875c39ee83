"""Documents for coding: text, Markdown and PDF, segments with position, section and page; bad PDFs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tiplens.errors import InputFileError, TiplensError
from tiplens.review.documents import paragraphs, read_document, split_sentences

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_17f5d2a2eb818521.txt"


@pytest.fixture(scope="module")
def seed():
    if not SEED.is_file():
        pytest.skip(f"seed paper not found at {SEED}")
    return read_document(SEED)


def _pdf(path: Path, pages: list[str]) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages
    with PdfPages(path) as pdf:
        for text in pages:
            figure = plt.figure(figsize=(6, 4))
            figure.text(0.05, 0.5, text)
            pdf.savefig(figure)
            plt.close(figure)
    return path


def test_seed_paper_sections_follow_its_headings(seed):
    _, segments = seed
    sections = list(dict.fromkeys(segments["section"]))
    # The headings as they stand in the seed file (read by eye): Markdown '##' and numbered ones.
    for heading in ["ABSTRACT", "1. INTRODUCTION", "2. LITERATURE REVIEW", "Theoretical Framework", "3. METHODS",
                    "4.1 Discussion", "1. International Cooperation", "2. Law Enforcement", "5. CONCLUSION",
                    "REFERENCES"]:
        assert heading in sections
    assert sections.index("3. METHODS") < sections.index("5. CONCLUSION")
    row = segments[segments["text"].str.startswith("This systematic literature review examines")].iloc[0]
    assert row["section"] == "2. LITERATURE REVIEW"


def test_seed_paper_paragraph_split_by_page_break_is_joined(seed):
    _, segments = seed
    # In the file "Central to" ends one block and "this perspective is ..." starts the next: one sentence.
    joined = segments[segments["text"].str.startswith("Central to this perspective is the adherence")]
    assert len(joined) == 1
    assert not segments["text"].str.fullmatch("Central to").any()


def test_seed_paper_first_introduction_paragraph_has_four_sentences(seed):
    _, segments = seed
    first = segments[segments["section"] == "1. INTRODUCTION"]["paragraph"].min()
    paragraph = segments[segments["paragraph"] == first]
    # Counted by hand in the seed file: "Human trafficking represents...", "The United Nations defines...",
    # "This process may also involve...", "Such activities frequently transcend... [1]."
    assert paragraph["sentence"].tolist() == [1, 2, 3, 4]
    assert paragraph["text"].iloc[1].startswith("The United Nations defines human trafficking")
    assert paragraph["text"].iloc[3].endswith("structural inequalities [1].")


def test_offsets_point_back_into_the_text(seed):
    document, segments = seed
    page = document.pages[0]
    for row in segments.sample(20, random_state=1).itertuples():
        original = " ".join(page[row.char_start:row.char_end].split())
        assert original == row.text


def test_tables_are_not_sentences(seed):
    _, segments = seed
    assert not segments["text"].str.contains("ASEAN-ACT (ASEAN–Australia", regex=False).any()


def test_segments_are_numbered_in_reading_order(seed):
    _, segments = seed
    assert segments["segment"].tolist() == list(range(1, len(segments) + 1))
    assert segments["paragraph"].is_monotonic_increasing
    assert set(segments["page"]) == {1}


def test_sentence_splitter_keeps_abbreviations_together():
    text = "The U.S. Department acts, e.g. through grants. Then Dr. Smith et al. disagreed! Why? Because."
    spans = [text[s:e] for s, e in split_sentences(text)]
    assert spans == ["The U.S. Department acts, e.g. through grants.", "Then Dr. Smith et al. disagreed!",
                     "Why?", "Because."]


def test_markdown_headings_and_paragraphs(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Title\n\nIntro sentence one. Intro two.\n\n## Part A\n\nA first.\nStill A.\n\nA second para.\n",
                    encoding="utf-8")
    _, segments = read_document(path)
    assert segments[["section", "paragraph", "sentence", "text"]].values.tolist() == [
        ["Title", 1, 1, "Intro sentence one."], ["Title", 1, 2, "Intro two."],
        ["Part A", 2, 1, "A first."], ["Part A", 2, 2, "Still A."], ["Part A", 3, 1, "A second para."]]
    assert paragraphs(segments)["text"].tolist() == ["Intro sentence one. Intro two.", "A first. Still A.",
                                                     "A second para."]


def test_pdf_pages_and_numbered_heading(tmp_path):
    path = _pdf(tmp_path / "two.pdf", ["1. Introduction\n\nStates cooperate through the UNODC. Victims have rights.",
                                       "Traffickers use social media apps."])
    document, segments = read_document(path)
    assert document.format == "pdf" and len(document.pages) == 2
    assert segments[["page", "section", "text"]].values.tolist() == [
        [1, "1. Introduction", "States cooperate through the UNODC."],
        [1, "1. Introduction", "Victims have rights."],
        [2, "1. Introduction", "Traffickers use social media apps."]]


def test_scanned_pdf_says_so(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    figure = plt.figure()
    figure.figimage(np.random.default_rng(0).random((40, 40)))
    figure.savefig(tmp_path / "scan.pdf")
    plt.close(figure)
    with pytest.raises(InputFileError, match=r"scan\.pdf: the PDF has no text layer.*scanned.*OCR"):
        read_document(tmp_path / "scan.pdf")


def test_encrypted_pdf(tmp_path):
    from pypdf import PdfReader, PdfWriter
    plain = _pdf(tmp_path / "plain.pdf", ["Some text."])
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt("secret")
    with open(tmp_path / "locked.pdf", "wb") as handle:
        writer.write(handle)
    with pytest.raises(InputFileError, match=r"locked\.pdf: the PDF is encrypted"):
        read_document(tmp_path / "locked.pdf")


def test_corrupt_and_empty_pdf(tmp_path):
    good = _pdf(tmp_path / "good.pdf", ["Some text."]).read_bytes()
    (tmp_path / "cut.pdf").write_bytes(good[:200])
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "junk.pdf").write_bytes(b"this is not a pdf at all")
    with pytest.raises(InputFileError, match=r"cut\.pdf: not a readable PDF"):
        read_document(tmp_path / "cut.pdf")
    with pytest.raises(InputFileError, match=r"empty\.pdf: the PDF file is empty"):
        read_document(tmp_path / "empty.pdf")
    with pytest.raises(InputFileError, match=r"junk\.pdf: not a readable PDF"):
        read_document(tmp_path / "junk.pdf")


def test_unusable_text_files(tmp_path):
    (tmp_path / "blank.txt").write_text("  \n\n ", encoding="utf-8")
    (tmp_path / "latin.txt").write_bytes("caf\xe9 society".encode("latin-1"))
    (tmp_path / "table.docx").write_bytes(b"PK")
    with pytest.raises(InputFileError, match=r"blank\.txt: the file is empty"):
        read_document(tmp_path / "blank.txt")
    with pytest.raises(InputFileError, match=r"latin\.txt: not UTF-8"):
        read_document(tmp_path / "latin.txt")
    with pytest.raises(TiplensError, match=r"table\.docx: cannot code a \.docx file"):
        read_document(tmp_path / "table.docx")
    with pytest.raises(TiplensError, match="no such file"):
        read_document(tmp_path / "missing.txt")
