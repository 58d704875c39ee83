"""docs/sources.md, src/tiplens/default/sources.yaml, the source modules and the fetch catalogue agree."""

from __future__ import annotations

import importlib.util
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml

from tiplens.sources import SOURCES

REPO = Path(__file__).resolve().parents[1]
SOURCES_YAML = REPO / "src" / "tiplens" / "default" / "sources.yaml"
CATALOGUE_YAML = REPO / "src" / "tiplens" / "default" / "fetch_catalogue.yaml"
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip")


def _load_builder():
    spec = importlib.util.spec_from_file_location("build_sources_doc", REPO / "scripts" / "build_sources_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


@pytest.fixture(scope="module")
def sources() -> dict:
    return yaml.safe_load(SOURCES_YAML.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def catalogue() -> dict:
    return yaml.safe_load(CATALOGUE_YAML.read_text(encoding="utf-8"))


def test_committed_page_is_rendered_from_yaml(sources):
    committed = (REPO / "docs" / "sources.md").read_text(encoding="utf-8")
    assert committed == builder.render(sources), "docs/sources.md is stale: run python scripts/build_sources_doc.py"


def test_page_summary_says_what_yaml_says(sources):
    # Guards the renderer itself: the shipped/not-shipped cell is the page's main message.
    page = builder.render(sources)
    for name, entry in sources.items():
        row = next(line for line in page.splitlines() if line.startswith(f"| `{name}` |"))
        expected = "**yes**:" if entry["redistributable"] else "**no**:"
        assert expected in row, name


def test_check_mode_detects_a_stale_page(sources, tmp_path, monkeypatch):
    page = tmp_path / "sources.md"
    monkeypatch.setattr(builder, "SOURCES_DOC", page)
    monkeypatch.setattr(builder, "REPO", tmp_path)
    page.write_text("stale\n", encoding="utf-8")
    assert builder.main(["--check"]) == 1
    assert page.read_text(encoding="utf-8") == "stale\n"  # --check never writes
    assert builder.main([]) == 0
    assert page.read_text(encoding="utf-8") == builder.render(sources)
    assert builder.main(["--check"]) == 0


def test_render_refuses_unknown_or_missing_fields(sources):
    entry = dict(sources["gdp"], shipping_note="would silently vanish from the page")
    with pytest.raises(ValueError, match="shipping_note"):
        builder.render({"gdp": entry})
    incomplete = {k: v for k, v in sources["gdp"].items() if k != "terms_url"}
    with pytest.raises(ValueError, match="terms_url"):
        builder.render({"gdp": incomplete})


def test_yaml_names_are_the_registered_sources(sources):
    assert sorted(sources) == sorted(SOURCES)


def test_module_redistributable_matches_yaml(sources):
    mismatches = {name: (module.REDISTRIBUTABLE, sources[name]["redistributable"])
                  for name, module in SOURCES.items()
                  if name in sources and module.REDISTRIBUTABLE != sources[name]["redistributable"]}
    assert not mismatches, f"REDISTRIBUTABLE in module vs sources.yaml: {mismatches}"


def _file_name(url: str) -> str:
    return PurePosixPath(urlsplit(url).path).name


def _why_not_in_catalogue(url: str, files: list[dict]) -> str | None:
    """Why a download_urls entry of a source is not a catalogue ``url`` of it, or None if unexplained.

    Two cases are legitimate: the publisher's file is in a format tiplens does not read, so the
    catalogue lists a converted copy (url null) whose note names the downloaded file; or the address is
    an archive and every catalogue file of the source is noted as coming from inside it.
    """
    name = _file_name(url)
    for item in files:
        if item.get("url") is None and name in (item.get("note") or ""):
            return f"converted copy {item['name']} of {name}"
    if name.endswith(ARCHIVE_SUFFIXES) and files and all(
            item.get("url") is None and any(word in (item.get("note") or "") for word in ("tarball", "archive"))
            for item in files):
        return f"files extracted from the archive {name}"
    return None


def test_download_urls_are_in_fetch_catalogue_or_explained(sources, catalogue):
    unexplained = []
    explained = {}
    for name, entry in sources.items():
        files = (catalogue.get(name) or {}).get("files") or []
        served = {item["url"] for item in files if item.get("url")}
        for url in entry["download_urls"]:
            if url in served:
                continue
            reason = _why_not_in_catalogue(url, files)
            if reason is None:
                unexplained.append(f"{name}: {url}")
            else:
                explained[url] = reason
    assert not unexplained, "download_urls neither fetched nor explained in fetch_catalogue.yaml:\n" + "\n".join(
        unexplained)
    # Today there are four such addresses (three Stata files, one CRAN tarball); if this number
    # moves, look at whether the new explanation is a real one.
    assert len(explained) == 4, explained


def test_catalogue_urls_come_from_yaml(sources, catalogue):
    # The catalogue says its urls are copied from download_urls; an address only in the catalogue
    # would be fetched without appearing on the terms page.
    stray = [f"{name}: {item['url']}" for name, spec in catalogue.items()
             for item in (spec or {}).get("files") or []
             if item.get("url") and item["url"] not in sources.get(name, {}).get("download_urls", [])]
    assert not stray, "catalogue urls missing from sources.yaml download_urls:\n" + "\n".join(stray)
