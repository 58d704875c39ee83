"""``tiplens fetch`` against a real HTTP server on 127.0.0.1 that serves the public data folder.

No HTTP mocks: each test talks to a ``ThreadingHTTPServer`` in a background thread (or to a
closed port, or to a socket that never answers). The server counts the requests it gets, so
"cached" can be checked as "no request was made".
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from tiplens._fetch import MIRROR_ENV, default_cache_dir, fetch, load_catalogue
from tiplens.errors import TiplensError
from tiplens.sources import SOURCES

CATALOGUE = load_catalogue()
#: Folders of the public data that are no source to fetch (documentation; a survey of NGOs).
NOT_FETCHED = {"ctdc_docs", "anti_tip_ngo_survey"}
#: Sources fetched end to end from the local mirror: 14 small CSVs, and a workbook plus a CSV
#: (the GSI summary CSV is the workbook's sheet again, so it must not be requested).
MIRRORED = ["membership", "gsi"]


class CountingHandler(SimpleHTTPRequestHandler):
    """Serves a folder and records every requested path on the server."""

    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()

    def log_message(self, format, *args):  # keep pytest output clean
        pass


class FailingHandler(CountingHandler):
    """Answers every request with HTTP 500, as a broken server does."""

    def do_GET(self):
        self.server.requests.append(self.path)
        self.send_error(500, "Internal Server Error")


class Mirror:
    def __init__(self, root: Path, handler_class=CountingHandler):
        handler = functools.partial(handler_class, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests = []
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def requests(self) -> list[str]:
        return self.httpd.requests

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def mirror(real_data):
    server = Mirror(real_data)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def no_mirror_from_environment(monkeypatch):
    monkeypatch.delenv(MIRROR_ENV, raising=False)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_catalogue(path: Path, entries: dict) -> Path:
    path.write_text(yaml.safe_dump(entries, sort_keys=False), encoding="utf-8")
    return path


def catalogue_entry(real_data: Path, mirror_path: str, *, edition="2025-11", url=None, **extra) -> dict:
    file = real_data / mirror_path
    return {"name": file.name, "url": url, "mirror_path": mirror_path, "sha256": sha256(file),
            "size": file.stat().st_size, "edition": edition, **extra}


MEMBERSHIP_A = "cooperation_membership/asean_membership.csv"
MEMBERSHIP_B = "cooperation_membership/saarc_trafficking_convention_2002.csv"


# -- the catalogue ------------------------------------------------------------------------------
def test_catalogue_lists_every_public_data_file_with_its_checksum(real_data):
    catalogued = {f.mirror_path: f for entry in CATALOGUE.values() for f in entry.files}
    on_disk = {str(p.relative_to(real_data)) for p in real_data.glob("*/*")
               if p.is_file() and p.name not in ("PROVENANCE.md", "README.md")
               and p.parent.name not in NOT_FETCHED}
    assert set(catalogued) == on_disk
    for rel, item in catalogued.items():
        path = real_data / rel
        assert item.name == path.name
        assert item.sha256 == sha256(path), rel
        assert item.size == path.stat().st_size, rel


def test_catalogue_names_duplicates_within_their_source_and_refuses_ctdc():
    for entry in CATALOGUE.values():
        names = [f.name for f in entry.files]
        assert len(names) == len(set(names)), entry.name
        for item in entry.files:
            if item.duplicate_of:
                assert item.duplicate_of in names and item.duplicate_of != item.name
    assert CATALOGUE["ctdc"].refuse and "https://www.ctdatacollaborative.org/terms-use" in CATALOGUE["ctdc"].refuse
    assert [e.name for e in CATALOGUE.values() if e.refuse] == ["ctdc"]


@pytest.mark.parametrize("source", sorted(s for s, e in CATALOGUE.items() if not e.refuse and e.files))
def test_catalogue_editions_fit_the_source_modules(real_data, source):
    """Each file is detected as its catalogued source, and the catalogue gives an edition exactly
    when the file does not state one (a stated edition must not be contradicted)."""
    assert source in SOURCES, f"the catalogue names {source!r}, which has no source module"
    module = SOURCES[source]
    for item in CATALOGUE[source].files:
        path = real_data / item.mirror_path
        assert module.detect(path), f"{item.mirror_path} is not detected as {source}"
        stated = module.read(path).edition
        if stated is None:
            assert item.edition, f"{item.mirror_path} states no edition, so the catalogue must give one"
        else:
            assert item.edition is None, f"{item.mirror_path} states its edition {stated}: catalogue null"


def test_a_catalogue_without_checksums_is_refused_with_its_path(tmp_path, empty_store):
    bad = write_catalogue(tmp_path / "cat.yaml", {"membership": {"files": [{"name": "x.csv", "mirror_path": "x.csv"}]}})
    with pytest.raises(TiplensError, match=r"cat\.yaml.*lacks sha256"):
        fetch(["membership"], store=empty_store, cache_dir=tmp_path / "cache", catalogue=bad)


# -- fetching from a local mirror ---------------------------------------------------------------
def test_fetch_downloads_verifies_caches_and_ingests(real_data, mirror, empty_store, tmp_path):
    cache = tmp_path / "cache"
    seen = []
    rows = fetch(MIRRORED, store=empty_store, cache_dir=cache, base_url=mirror.url + "/",
                 progress=lambda name, done, total: seen.append((name, done, total)))
    expected = [f for s in MIRRORED for f in CATALOGUE[s].files if not f.duplicate_of]
    assert [r["name"] for r in rows] == [f.name for f in expected]
    assert {r["status"] for r in rows} == {"downloaded"}
    assert sorted(mirror.requests) == sorted("/" + f.mirror_path for f in expected)
    for row, item in zip(rows, expected):
        assert row["url"] == f"{mirror.url}/{item.mirror_path}"
        assert row["sha256"] == item.sha256 == sha256(Path(row["path"]))
        assert Path(row["path"]) == cache / item.mirror_path
        assert row["ingested"] is True
        assert row["rows_read"] == row["rows_loaded"] + row["rows_quarantined"] > 0
    # the progress callback ends each file at its full size
    last = {name: (done, total) for name, done, total in seen}
    assert all(last[f.name] == (f.size, f.size) for f in expected)
    files = empty_store.files()
    assert set(files["sha256"]) == {f.sha256 for f in expected}
    assert set(files["origin"]) == {"fetch"}
    assert not list(cache.rglob("*.part")) and not list(cache.rglob("*.new"))

    # a second fetch finds every file in the cache and the store: no request, no new rows
    before = mirror.requests.copy()
    again = fetch(MIRRORED, store=empty_store, cache_dir=cache, base_url=mirror.url)
    assert {r["status"] for r in again} == {"cached"}
    assert mirror.requests == before
    assert [r["ingested"] for r in again] == [False] * len(expected)
    assert [r["rows_loaded"] for r in again] == [r["rows_loaded"] for r in rows]
    assert len(empty_store.files()) == len(files)


def test_fetch_glotip_loads_both_releases_and_skips_the_csv_copy(real_data, mirror, empty_store, tmp_path):
    rows = fetch(["glotip"], store=empty_store, cache_dir=tmp_path / "cache", base_url=mirror.url)
    assert [(r["name"], r["status"], r["edition"]) for r in rows] == [
        ("data_glotip_2025-04-14.xlsx", "downloaded", "2025-04-14"),   # editions stated in the preamble
        ("data_glotip_2023-05-30.xlsx", "downloaded", "2023-05-30")]
    assert "/unodc_glotip/data_glotip_2025-04-14.csv" not in mirror.requests
    files = empty_store.files("glotip")
    assert sorted(files["edition"]) == ["2023-05-30", "2025-04-14"]
    # rows read as PROVENANCE.md counts them (58,769 and 46,556 data rows)
    assert sorted(files["rows_read"]) == [46556, 58769]


def test_cached_files_are_ingested_into_a_store_that_lacks_them(real_data, mirror, tmp_path):
    from tiplens.store import open_store
    catalogue = write_catalogue(tmp_path / "cat.yaml", {"membership": {"page": None, "files": [
        catalogue_entry(real_data, MEMBERSHIP_A)]}})
    cache = tmp_path / "cache"
    with open_store(tmp_path / "one.duckdb", with_default=False) as one:
        fetch(["membership"], store=one, cache_dir=cache, base_url=mirror.url, catalogue=catalogue)
    with open_store(tmp_path / "two.duckdb", with_default=False) as two:
        rows = fetch(["membership"], store=two, cache_dir=cache, base_url=mirror.url, catalogue=catalogue)
        assert [(r["status"], r["ingested"]) for r in rows] == [("cached", True)]
        assert list(two.files()["sha256"]) == [rows[0]["sha256"]]
    assert len(mirror.requests) == 1


def test_the_mirror_can_come_from_the_environment(real_data, mirror, empty_store, tmp_path, monkeypatch):
    catalogue = write_catalogue(tmp_path / "cat.yaml", {"membership": {"page": None, "files": [
        catalogue_entry(real_data, MEMBERSHIP_A)]}})
    monkeypatch.setenv(MIRROR_ENV, mirror.url)
    rows = fetch(["membership"], store=empty_store, cache_dir=tmp_path / "cache", catalogue=catalogue)
    assert rows[0]["status"] == "downloaded" and rows[0]["url"].startswith(mirror.url)
    assert mirror.requests == ["/" + MEMBERSHIP_A]


def test_a_mirror_can_be_a_local_folder(real_data, empty_store, tmp_path):
    catalogue = write_catalogue(tmp_path / "cat.yaml", {"membership": {"page": None, "files": [
        catalogue_entry(real_data, MEMBERSHIP_A)]}})
    rows = fetch(["membership"], store=empty_store, cache_dir=tmp_path / "cache", base_url=real_data.as_uri(),
                 catalogue=catalogue)
    assert rows[0]["status"] == "downloaded" and rows[0]["ingested"] is True


def test_a_mirror_path_may_not_leave_the_cache(real_data, empty_store, tmp_path):
    entry = dict(catalogue_entry(real_data, MEMBERSHIP_A), mirror_path="../../etc/x.csv")
    catalogue = write_catalogue(tmp_path / "cat.yaml", {"membership": {"page": None, "files": [entry]}})
    with pytest.raises(TiplensError, match=r"mirror_path outside the data folder"):
        fetch(["membership"], store=empty_store, cache_dir=tmp_path / "cache", base_url="http://127.0.0.1:9",
              catalogue=catalogue)


def test_a_damaged_cached_file_is_downloaded_again(real_data, mirror, empty_store, tmp_path):
    catalogue = write_catalogue(tmp_path / "cat.yaml", {"membership": {"page": None, "files": [
        catalogue_entry(real_data, MEMBERSHIP_A)]}})
    damaged = tmp_path / "cache" / MEMBERSHIP_A
    damaged.parent.mkdir(parents=True)
    damaged.write_text("iso3,country\n")
    rows = fetch(["membership"], store=empty_store, cache_dir=tmp_path / "cache", base_url=mirror.url,
                 catalogue=catalogue)
    assert rows[0]["status"] == "downloaded"
    assert damaged.read_bytes() == (real_data / MEMBERSHIP_A).read_bytes()


def test_duplicate_formats_are_not_fetched(real_data, mirror, empty_store, tmp_path):
    catalogue = write_catalogue(tmp_path / "cat.yaml", {"membership": {"page": None, "files": [
        catalogue_entry(real_data, MEMBERSHIP_A),
        catalogue_entry(real_data, MEMBERSHIP_B, duplicate_of="asean_membership.csv")]}})
    rows = fetch(["membership"], store=empty_store, cache_dir=tmp_path / "cache", base_url=mirror.url,
                 catalogue=catalogue)
    assert [r["name"] for r in rows] == ["asean_membership.csv"]
    assert mirror.requests == ["/" + MEMBERSHIP_A]


# -- what is not trusted ------------------------------------------------------------------------
def test_a_changed_file_is_kept_aside_and_not_ingested(real_data, empty_store, tmp_path):
    served = tmp_path / "served"
    for rel in (MEMBERSHIP_A, MEMBERSHIP_B):
        (served / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(real_data / rel, served / rel)
    with open(served / MEMBERSHIP_A, "a", encoding="utf-8") as fh:  # a new "release": one more line
        fh.write("XXX,Nowhere,member,,,,\n")
    catalogue = write_catalogue(tmp_path / "cat.yaml", {"membership": {"page": None, "files": [
        catalogue_entry(real_data, MEMBERSHIP_A)]}})
    server = Mirror(served)
    try:
        rows = fetch(["membership"], store=empty_store, cache_dir=tmp_path / "cache", base_url=server.url,
                     catalogue=catalogue)
    finally:
        server.close()
    [row] = rows
    assert row["status"] == "changed_upstream"
    assert row["message"].startswith("changed upstream: sha256 differs from the catalogued copy")
    assert row["sha256"] == sha256(served / MEMBERSHIP_A) != sha256(real_data / MEMBERSHIP_A)
    assert row["path"] == str(tmp_path / "cache" / (MEMBERSHIP_A + ".new"))
    assert Path(row["path"]).read_bytes() == (served / MEMBERSHIP_A).read_bytes()
    assert not (tmp_path / "cache" / MEMBERSHIP_A).exists()
    assert "rows_loaded" not in row
    assert empty_store.files().empty and empty_store.table_counts()["observations"] == 0


def test_http_404_names_the_address_and_ingests_nothing(real_data, mirror, empty_store, tmp_path):
    missing = "cooperation_membership/no_such_file.csv"
    catalogue = write_catalogue(tmp_path / "cat.yaml", {"membership": {"page": None, "files": [
        catalogue_entry(real_data, MEMBERSHIP_A),
        dict(catalogue_entry(real_data, MEMBERSHIP_B), mirror_path=missing)]}})
    with pytest.raises(TiplensError) as caught:
        fetch(["membership"], store=empty_store, cache_dir=tmp_path / "cache", base_url=mirror.url,
              catalogue=catalogue)
    message = str(caught.value)
    assert f"{mirror.url}/{missing}" in message and "HTTP 404" in message and "--mirror" in message
    assert "\n" not in message
    assert mirror.requests == ["/" + MEMBERSHIP_A, "/" + missing]
    # the first file was downloaded and verified, but nothing reached the store
    assert empty_store.files().empty
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_http_500_and_an_empty_answer_are_errors(real_data, empty_store, tmp_path):
    catalogue = write_catalogue(tmp_path / "cat.yaml", {"membership": {"page": None, "files": [
        catalogue_entry(real_data, MEMBERSHIP_A)]}})
    broken = Mirror(tmp_path, FailingHandler)
    try:
        with pytest.raises(TiplensError, match=rf"^{broken.url}/{MEMBERSHIP_A}: download failed \(HTTP 500"):
            fetch(["membership"], store=empty_store, cache_dir=tmp_path / "cache", base_url=broken.url,
                  catalogue=catalogue)
    finally:
        broken.close()
    served = tmp_path / "served"
    (served / MEMBERSHIP_A).parent.mkdir(parents=True)
    (served / MEMBERSHIP_A).write_bytes(b"")
    empty = Mirror(served)
    try:
        with pytest.raises(TiplensError, match=r"the server sent an empty file"):
            fetch(["membership"], store=empty_store, cache_dir=tmp_path / "cache", base_url=empty.url,
                  catalogue=catalogue)
    finally:
        empty.close()
    assert empty_store.files().empty
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_a_closed_port_gives_a_clear_error(real_data, empty_store, tmp_path):
    with socket.socket() as probe:  # a port that was free a moment ago and now has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TiplensError, match=rf"^http://127\.0\.0\.1:{port}/cooperation_membership/.*: "
                                           r"cannot connect \(Connection refused\); check your internet"):
        fetch(["membership"], store=empty_store, cache_dir=tmp_path / "cache",
              base_url=f"http://127.0.0.1:{port}")
    assert empty_store.files().empty


def test_a_server_that_never_answers_times_out(real_data, empty_store, tmp_path):
    with socket.socket() as silent:  # accepts connections (kernel backlog) but never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        port = silent.getsockname()[1]
        with pytest.raises(TiplensError, match=r"no answer within 0\.5 s"):
            fetch(["membership"], store=empty_store, cache_dir=tmp_path / "cache",
                  base_url=f"http://127.0.0.1:{port}", timeout=0.5)
    assert empty_store.files().empty


# -- what is never downloaded -------------------------------------------------------------------
def test_files_without_an_official_address_say_where_to_get_them(real_data, empty_store, tmp_path):
    entry = catalogue_entry(real_data, MEMBERSHIP_A)
    catalogue = write_catalogue(tmp_path / "cat.yaml", {
        "membership": {"page": "https://example.org/downloads", "files": [entry]}})
    rows = fetch(["membership"], store=empty_store, cache_dir=tmp_path / "cache", catalogue=catalogue)
    assert [r["status"] for r in rows] == ["no_url"]
    assert rows[0]["message"].startswith(
        "no official download URL; get it from https://example.org/downloads and run tiplens ingest")
    assert empty_store.files().empty


def test_ctdc_is_refused_naming_its_terms_page(empty_store, tmp_path, real_data):
    with pytest.raises(TiplensError, match=r"ctdatacollaborative\.org/terms-use"):
        fetch(["membership", "ctdc"], store=empty_store, cache_dir=tmp_path / "cache")
    # fetching "everything" reports ctdc as refused instead of failing
    catalogue = write_catalogue(tmp_path / "cat.yaml", {
        "membership": {"page": None, "files": [catalogue_entry(real_data, MEMBERSHIP_A)]},
        "ctdc": {"page": None, "refuse": "accept the terms at https://www.ctdatacollaborative.org/terms-use",
                 "files": []}})
    rows = fetch(None, store=empty_store, cache_dir=tmp_path / "cache", catalogue=catalogue)
    assert [(r["source"], r["status"]) for r in rows] == [("membership", "no_url"), ("ctdc", "refused")]
    assert "terms-use" in rows[1]["message"]
    assert empty_store.files().empty


def test_an_unknown_source_is_an_error(empty_store, tmp_path):
    with pytest.raises(TiplensError, match=r"unknown source 'glotpi' for fetch; choose from: .*glotip"):
        fetch(["glotpi"], store=empty_store, cache_dir=tmp_path / "cache")


def test_default_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "tiplens"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert default_cache_dir() == Path.home() / ".cache" / "tiplens"


def test_fetch_command_json_equals_library_twin(mirror, tmp_path):
    import json

    from typer.testing import CliRunner

    import tiplens as tl
    from tiplens.cli import app, to_jsonable
    result = CliRunner().invoke(app, ["fetch", "membership", "--mirror", mirror.url,
                                      "--db", str(tmp_path / "cli.duckdb"), "--json"])
    assert result.exit_code == 0, result.output
    shutil.rmtree(default_cache_dir())  # the library run downloads afresh too
    twin = tl.fetch(["membership"], db=tmp_path / "lib.duckdb", base_url=mirror.url)
    payload = json.loads(result.stdout)["files"]
    assert payload == to_jsonable(twin)
    assert {row["status"] for row in payload} == {"downloaded"}
