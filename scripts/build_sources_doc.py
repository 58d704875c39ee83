"""Render docs/sources.md from src/tiplens/default/sources.yaml.

    python scripts/build_sources_doc.py            write docs/sources.md
    python scripts/build_sources_doc.py --check    exit 1 if docs/sources.md is out of date

sources.yaml is the single place where terms and provenance are edited; the page is never edited by
hand. tests/test_sources_doc.py checks that the committed page equals ``render(sources.yaml)``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SOURCES_YAML = REPO / "src" / "tiplens" / "default" / "sources.yaml"
SOURCES_DOC = REPO / "docs" / "sources.md"

REQUIRED_FIELDS = (
    "title", "publisher", "licence", "official_url", "download_urls", "download_notes",
    "edition_in_data", "citation", "terms", "terms_url", "evidence_urls", "redistributable",
    "redistributable_reason", "origin_of_copy",
)
# maintainer_note is for people editing the YAML, not for readers of the page.
OPTIONAL_FIELDS = ("how_to_get", "caveats", "maintainer_note")

INTRO = """\
# Data sources, their terms, and what tiplens ships

<!-- Generated from src/tiplens/default/sources.yaml: edit that file, then regenerate this page. -->

tiplens reads public data on human trafficking from many publishers, and each publisher sets its \
own terms. This page lists, for every source, what the publisher allows, whether tiplens ships the \
rows in its embedded default dataset, and how you get the file yourself.

The *embedded default* is the set of compact tables installed with the package, so that `tiplens` \
works without downloads. It holds only sources whose terms allow redistribution with attribution. \
The rule is conservative: where the terms are unclear or restrictive, the source is left out and \
you download it yourself. These are summaries, not legal advice: check the linked terms before you \
reuse the data.
"""

AFTER_SUMMARY = """\
`tiplens fetch NAME` downloads the official file, checks its sha256 against the copy tiplens was \
built with, and ingests it. If the file changed upstream, fetch keeps it aside for you to inspect \
and ingest as a new edition. Where a source has no direct official address, get the file from the \
page given and run `tiplens ingest FILE`.
"""

SUMMARY_HEADER = (
    "| source | publisher | edition in the public copy | terms | in embedded default | how to get the file |\n"
    "|---|---|---|---|---|---|"
)


def _text(value: object) -> str:
    """One line of Markdown: YAML folding can leave stray whitespace, and a bare ``|`` would split a
    table cell (escaped everywhere so the same text reads the same in tables and bullets)."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _check_fields(name: str, entry: dict) -> None:
    missing = [field for field in REQUIRED_FIELDS if field not in entry]
    unknown = sorted(set(entry) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if missing or unknown:
        # An unknown field would silently vanish from the page; make the editor decide where it goes.
        raise ValueError(f"sources.yaml entry {name!r}: missing fields {missing}, unknown fields {unknown}")


def _how_to_get(name: str, entry: dict) -> str:
    """The summary table's last cell: fetch, a manual download, or why there is no file."""
    if entry["download_urls"]:
        return f"`tiplens fetch {name}`"
    if entry.get("how_to_get"):
        # For a shipped source (e.g. a tiplens compilation) there is nothing to go and get; for the
        # others, point at the publisher's page even though it offers no file.
        if entry["redistributable"]:
            return _text(entry["how_to_get"])
        return f"{_text(entry['how_to_get'])}; see {entry['official_url']}"
    return f"download from {entry['official_url']}, then `tiplens ingest FILE`"


def _summary_row(name: str, entry: dict) -> str:
    shipped = "yes" if entry["redistributable"] else "no"
    cells = [
        f"`{name}`",
        _text(entry["publisher"]),
        _text(entry["edition_in_data"]),
        f"{_text(entry['licence'])} ([terms]({entry['terms_url']}))",
        f"**{shipped}**: {_text(entry['redistributable_reason'])}",
        _how_to_get(name, entry),
    ]
    return "| " + " | ".join(cells) + " |"


def _section(name: str, entry: dict) -> str:
    lines = [
        f"### `{name}`: {_text(entry['title'])}",
        "",
        f"- **Publisher:** {_text(entry['publisher'])}",
        f"- **Official page:** {entry['official_url']}",
    ]
    if entry["download_urls"]:
        lines.append("- **Direct download (used by `tiplens fetch`):**")
        lines.extend(f"  - {url}" for url in entry["download_urls"])
    else:
        lines.append("- **Direct download:** none established with confidence")
    lines += [
        f"- **About the download:** {_text(entry['download_notes'])}",
        f"- **Edition in the public copy:** {_text(entry['edition_in_data'])}",
        f"- **Cite as:** {_text(entry['citation'])}",
        f"- **Terms:** {_text(entry['terms'])}",
        f"- **Terms page:** {entry['terms_url']}",
    ]
    if entry["evidence_urls"]:
        lines.append(f"- **Where the terms were read:** {' ; '.join(entry['evidence_urls'])}")
    shipped = "yes" if entry["redistributable"] else "no"
    lines.append(f"- **In the embedded default:** {shipped}. {_text(entry['redistributable_reason'])}")
    if entry.get("caveats"):
        lines.append(f"- **Conditions:** {_text(entry['caveats'])}")
    lines.append(f"- **Where the public copy came from:** {_text(entry['origin_of_copy'])}")
    return "\n".join(lines) + "\n"


def render(sources: dict) -> str:
    """The Markdown text of docs/sources.md.

    Parameters
    ----------
    sources
        The parsed sources.yaml: source name -> entry (see the field list at the top of that file).
        Sources appear in the YAML's order.

    Returns
    -------
    str
        The whole page, ending with one newline.

    Raises
    ------
    ValueError
        If an entry lacks a required field or has a field the page does not know how to show.
    """
    for name, entry in sources.items():
        _check_fields(name, entry)
    summary = "\n".join([SUMMARY_HEADER] + [_summary_row(name, entry) for name, entry in sources.items()])
    sections = "\n".join(_section(name, entry) for name, entry in sources.items())
    return "\n".join([INTRO, "## Summary\n", summary + "\n", AFTER_SUMMARY, "## Per source\n", sections])


def load_sources(path: Path = SOURCES_YAML) -> dict:
    """Parse sources.yaml."""
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if docs/sources.md differs from what would be written")
    args = parser.parse_args(argv)
    page = render(load_sources())
    current = SOURCES_DOC.read_text(encoding="utf-8") if SOURCES_DOC.exists() else None
    if args.check:
        if current != page:
            print(f"{SOURCES_DOC.relative_to(REPO)} is out of date: run python scripts/build_sources_doc.py",
                  file=sys.stderr)
            return 1
        return 0
    SOURCES_DOC.write_text(page, encoding="utf-8")
    print(f"wrote {SOURCES_DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
