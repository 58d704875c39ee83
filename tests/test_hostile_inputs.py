"""Hostile and broken codebooks, knowledge-base files, bibliographies and PDFs.

Every case starts from a file tiplens ships (the three codebooks and their REFI-QDA export, the
package knowledge base, the seed paper's BibTeX reference list) or writes itself (RIS, CSV and
ASReview exports of those references; PDFs drawn with matplotlib and rewritten with pypdf), then
breaks it: truncated, bytes flipped, NUL bytes, UTF-16 and Latin-1, empty, random binary, huge
strings, YAML alias bombs and python tags, XML entity bombs and external entities, duplicate and
cyclic codes, unbalanced braces, encrypted and page-less PDFs, a text file named ``.pdf``...

For every case exactly one of:

* ``error``: a :class:`TiplensError` whose message names the file, and every workflow table
  (``review_*``, ``coding_*``) exactly as before: no partial write;
* ``loaded``: the call succeeded (and what it stored is accounted for where that can be checked).

Anything else (another exception, an error that does not name the file, a changed store after an
error, a case slower than :data:`CASE_SECONDS`) fails the test with every case that did it. The
bombs run in a child process with a capped address space and a timeout. Each test prints how many
cases it tried and how each was handled; ``TIPLENS_SOAK=1`` runs more random rounds.
"""

from __future__ import annotations

import collections
import csv
import http.server
import io
import json
import os
import random
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from importlib import resources
from pathlib import Path
from typing import ClassVar

import hostile
from conftest import real_data_dir
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import tiplens
from tiplens._cli_common import to_jsonable
from tiplens.errors import TiplensError

SOAK = os.environ.get("TIPLENS_SOAK") == "1"
ROUNDS = 4 if SOAK else 1
#: A single case must finish within this many seconds (on a busy 2-core machine).
CASE_SECONDS = 20
SEED_TEXT = real_data_dir().parent / "seed" / "000_17f5d2a2eb818521.txt"  # the seed paper beside the data

TALLY: collections.Counter = collections.Counter()


# -- the store and its workflow tables -------------------------------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    # the embedded default holds the countries the knowledge base's ISO3 codes are checked against
    store = tiplens.open_store(tmp_path_factory.mktemp("hostile_inputs") / "s.duckdb", with_default=True)
    yield store
    store.close()


def _workflow_tables(store) -> dict[str, str]:
    names = [row[0] for row in store.con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'review%' "
        "OR table_name LIKE 'coding%' OR table_name LIKE 'kb%' ORDER BY table_name").fetchall()]
    out = {}
    for name in names:
        frame = store.read_rows(name)
        # rows, columns and a hash of every value: equal before and after means nothing was written
        hashed = pd.util.hash_pandas_object(frame.astype(str), index=False) if len(frame) else pd.Series([], "uint64")
        out[name] = (len(frame), tuple(frame.columns), int(hashed.sum()), tuple(hashed.head(3)))
    return out


class Outcomes:
    """Counts outcomes per category and collects the cases that broke an invariant."""

    def __init__(self, category: str):
        self.category, self.counts, self.failures, self.errors = category, collections.Counter(), [], \
            collections.Counter()
        self.slowest = 0.0

    def run(self, label: str, path: Path, call, store=None, check=None) -> str:
        before = _workflow_tables(store) if store is not None else None
        started = time.monotonic()
        outcome = "loaded"
        try:
            result = call()
            if check is not None:
                check(result)
        except TiplensError as exc:
            message = str(exc)
            outcome = "error"
            if path.name not in message:
                self.failures.append(f"{label}: error does not name the file: {message[:200]}")
            elif store is not None and _workflow_tables(store) != before:
                self.failures.append(f"{label}: a workflow table changed although the call failed")
            self.errors[message.split(path.name, 1)[-1].lstrip(":, ")[:50]] += 1
        except AssertionError as exc:
            self.failures.append(f"{label}: {exc}")
            outcome = "wrong result"
        except Exception as exc:  # noqa: BLE001 - exactly what this test hunts
            self.failures.append(f"{label}: {type(exc).__name__}: {str(exc)[:200]}")
            outcome = "crash"
        elapsed = time.monotonic() - started
        self.slowest = max(self.slowest, elapsed)
        if elapsed > CASE_SECONDS:
            self.failures.append(f"{label}: took {elapsed:.0f} s (limit {CASE_SECONDS} s)")
        self.counts[outcome] += 1
        return outcome

    def report(self) -> None:
        TALLY.update({f"{self.category} {k}": v for k, v in self.counts.items()})
        common = "; ".join(f"{n}x {p!r}" for p, n in self.errors.most_common(4))
        print(f"\n{self.category}: {sum(self.counts.values())} cases: {dict(self.counts)}; slowest "
              f"{self.slowest:.1f} s\n  most common errors: {common}")
        assert not self.failures, "\n".join(self.failures)


# -- mutations shared by the text formats ----------------------------------------------------------
def _empty(data, rng):
    return b""


def _binary(data, rng):
    return bytes(rng.randrange(256) for _ in range(8192))


def _latin1(data, rng):
    text = data.decode("utf-8", errors="replace").replace("a", "à", 3).replace("e", "é", 3)
    return text.encode("latin-1", errors="replace")


def _whitespace_only(data, rng):
    return b"\n \t\n\r\n"


def _bom_crlf(data, rng):
    return hostile.crlf_and_bom(data, rng)


#: Byte-level damage that applies to every text file (name -> function(bytes, Random) -> bytes);
#: the random ones run several times per round.
BYTE_MUTATIONS = {"truncate": hostile.truncate, "flip_bytes": hostile.flip_bytes, "nul_bytes": hostile.nul_bytes,
                  "utf16": hostile.utf16, "latin1": _latin1, "bom_crlf": _bom_crlf, "empty": _empty,
                  "whitespace_only": _whitespace_only, "binary": _binary}
RANDOM_MUTATIONS = {"truncate": 3, "flip_bytes": 3, "nul_bytes": 2}


def _byte_cases(data: bytes, rng: random.Random):
    for name, mutation in BYTE_MUTATIONS.items():
        for i in range(RANDOM_MUTATIONS.get(name, 1) * (ROUNDS if name in RANDOM_MUTATIONS else 1)):
            yield f"{name}{i}", mutation(data, rng)


def _write_cases(folder: Path, mutations, name: str) -> list[tuple[str, Path]]:
    """Each (label, bytes) of ``mutations`` written to ``folder/<label>_<name>``; returns
    (``"<label> of <name>"``, path) pairs."""
    cases = []
    for label, mutated in mutations:
        path = folder / f"{label}_{name}"
        path.write_bytes(mutated)
        cases.append((f"{label} of {name}", path))
    return cases


def _not_a_file(folder: Path, suffix: str, missing: str) -> list[tuple[str, Path]]:
    """Two cases every reader must refuse: a folder named like the file, and a file that is not there."""
    directory = folder / f"a_folder{suffix}"
    directory.mkdir()
    return [("a folder", directory), ("missing file", folder / missing)]


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A YAML flow mapping whose last anchor ``l{levels-1}`` expands to width**levels strings (billion laughs)."""
    parts = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        parts.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "{" + ", ".join(parts) + "}"


# ==================================================================================================
# 1. codebooks (YAML and REFI-QDA .qdc)
# ==================================================================================================
def _shipped_codebooks() -> dict[str, bytes]:
    folder = resources.files("tiplens.review").joinpath("codebooks")
    return {name: folder.joinpath(f"{name}.yaml").read_bytes() for name in ("liberalism", "realism", "constructivism")}


def _yaml_edit(data: bytes, edit) -> bytes:
    book = yaml.safe_load(data)
    edit(book)
    return yaml.safe_dump(book, sort_keys=False, allow_unicode=True).encode("utf-8")


def _codebook_structure_cases(data: bytes, rng: random.Random):
    """Valid YAML, wrong codebook: duplicates, missing parents, cycles, wrong types, huge strings."""
    def dup(book):
        book["codes"].append(dict(book["codes"][0]))

    def missing_parent(book):
        book["codes"][-1]["parent"] = "no_such_code"

    def cycle(book):
        book["codes"][0]["parent"] = book["codes"][-1]["code"]
        book["codes"][-1]["parent"] = book["codes"][0]["code"]

    def self_parent(book):
        book["codes"][0]["parent"] = book["codes"][0]["code"]

    def huge_definition(book):
        book["codes"][0]["definition"] = "trafficking " * 300_000

    def many_keywords(book):
        book["codes"][0]["keywords"] = [f"word{i}" for i in range(50_000)]

    def bad_pattern(book):
        book["codes"][0]["patterns"] = ["(unclosed"]

    def catastrophic_pattern(book):
        # a classic exponential-backtracking pattern: it must not hang coding
        book["codes"][0]["patterns"] = ["(a+)+$"]

    def code_as_list(book):
        book["codes"][0]["code"] = ["a", "b"]

    def definition_as_mapping(book):
        book["codes"][0]["definition"] = {"nested": "mapping"}

    def keywords_as_mapping(book):
        book["codes"][0]["keywords"] = {"a": 1}

    def coders_as_list(book):
        book["coders"] = [1, 2]

    def coders_nested(book):
        book["coders"] = {"dictionary": {"min_terms": {"deep": [1, 2, 3]}}}

    def coders_wrong_value(book):
        book["coders"] = {"dictionary": {"min_terms": "many"}}

    def no_codes(book):
        book["codes"] = []

    def codes_mapping(book):
        book["codes"] = {"a": 1}

    def no_name(book):
        del book["name"]

    def name_with_path(book):
        book["name"] = "../../etc/passwd"

    def version_list(book):
        book["version"] = [1, 0]

    def unknown_top(book):
        book["extra"] = 1

    def unicode_name(book):
        book["codes"][0]["name"] = "合作 \u202e\u200b<script>alert(1)</script>"

    edits = [dup, missing_parent, cycle, self_parent, huge_definition, many_keywords, bad_pattern,
             catastrophic_pattern, code_as_list, definition_as_mapping, keywords_as_mapping, coders_as_list,
             coders_nested, coders_wrong_value, no_codes, codes_mapping, no_name, name_with_path, version_list,
             unknown_top, unicode_name]
    for edit in edits:
        yield edit.__name__, _yaml_edit(data, edit)
    text = data.decode("utf-8")
    yield "python_tag", b"name: x\nversion: '1'\ncodes: !!python/object/apply:os.system ['echo unsafe']\n"
    yield "python_name_tag", text.replace("name: ", "name: !!python/name:os.system ", 1).encode()
    yield "duplicate_key", text.replace("version:", "version: '9'\nversion:", 1).encode()
    yield "top_level_list", b"- 1\n- 2\n"
    yield "top_level_scalar", b"just a sentence\n"
    yield "recursive_alias", b"name: x\nversion: '1'\ncodes: &c [*c]\n"
    yield "deep_nesting", b"name: x\nversion: '1'\ncodes: " + b"[" * 5000 + b"]" * 5000 + b"\n"
    yield "tabs", text.replace("  ", "\t", 5).encode()
    yield "huge_line", b"name: " + b"x" * 3_000_000 + b"\nversion: '1'\n"


def _qdc_structure_cases(data: bytes, canary: Path, url: str):
    text = data.decode("utf-8")
    body = text.split("?>", 1)[1]
    declaration = '<?xml version="1.0" encoding="utf-8"?>'

    def with_dtd(dtd: str, reference: str) -> bytes:
        # the entity is used in the first code's name, so an expanded one would reach the store
        replaced = body.replace('name="', f'name="{reference}', 1)
        return f"{declaration}\n<!DOCTYPE CodeBook [{dtd}]>{replaced}".encode()

    yield "xxe_file", with_dtd(f'<!ENTITY x SYSTEM "file://{canary}">', "&x;")
    yield "xxe_http", with_dtd(f'<!ENTITY x SYSTEM "{url}/general">', "&x;")
    yield "xxe_parameter", with_dtd(f'<!ENTITY % p SYSTEM "{url}/parameter"> %p;', "")
    yield "xxe_external_dtd", f'{declaration}\n<!DOCTYPE CodeBook SYSTEM "{url}/dtd">{body}'.encode()
    yield "internal_entity", with_dtd('<!ENTITY x "Cooperation ">', "&x;")
    yield "undefined_entity", body.replace('name="', 'name="&nope;', 1).encode()
    yield "wrong_root", b'<?xml version="1.0"?><Project xmlns="urn:QDA-XML:project:1.0"/>'
    yield "no_namespace", text.replace(' xmlns="urn:QDA-XML:codebook:1.0"', "").encode()
    yield "no_codes", (f'{declaration}<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>').encode()
    yield "nameless_codes", (f'{declaration}<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
                             '<Code guid="1"/><Code guid="2" name=""/></Codes></CodeBook>').encode()
    yield "duplicate_names", (f'{declaration}<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
                              '<Code guid="1" name="Aid"><Description>Help.</Description></Code>'
                              '<Code guid="2" name="aid"><Description>Help.</Description></Code>'
                              '</Codes></CodeBook>').encode()
    yield "foreign_program", (f'{declaration}<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>'
                              '<Code guid="1" name="Human rights" isCodable="true"><Description>Rights talk.'
                              '</Description><Code guid="2" name="Victims"/></Code></Codes></CodeBook>').encode()
    deep = "".join(f'<Code guid="{i}" name="level {i}"><Description>D.</Description>' for i in range(3000))
    yield "deep_nesting", (f'{declaration}<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>{deep}'
                           + "</Code>" * 3000 + "</Codes></CodeBook>").encode()
    many = "".join(f'<Code guid="{i}" name="code {i}"><Description>D.</Description></Code>' for i in range(5000))
    yield "many_codes", (f'{declaration}<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes>{many}'
                         "</Codes></CodeBook>").encode()
    yield "huge_attribute", body.replace('name="', 'name="' + "x" * 3_000_000, 1).encode()
    marker = "--- tiplens fields"
    yield "block_not_yaml", text.replace(marker, f"{marker}\n  : : [", 1).encode()
    yield "block_python_tag", text.replace("code: ", "code: !!python/object/apply:os.system ['echo x'] #", 1).encode()
    yield "block_alias_bomb", text.replace("keywords:", f"bomb: {_alias_bomb(6, 6)}\nkeywords: *l5\nold_keywords:", 1
                                          ).encode()
    yield "block_not_mapping", text.replace(marker + " (keep this block to re-import into tiplens) ---",
                                            marker + " (keep this block to re-import into tiplens) ---\n- a", 1
                                            ).encode()
    yield "block_cycle_order", text.replace("order:", "order: [x, x]\nignored:", 1).encode()
    yield "block_order_number", text.replace("order:", "order: 5\nignored:", 1).encode()
    yield "block_code_list", text.replace("\ncode: ", "\ncode: [a, b]\nold_code: ", 1).encode()
    yield "utf16_declared_utf8", text.encode("utf-16")
    yield "latin1_declared_utf8", text.replace("Cooperation", "Coopération").encode("latin-1", errors="replace")


class _Listener(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self):  # the name http.server calls
        _Listener.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"FETCHED-FROM-NETWORK")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def listener():
    """A local HTTP server that records every request: an external entity must never reach it."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_codebooks(store, tmp_path, listener):
    """``codebook import`` (and ``codebook show --json``) on broken YAML and .qdc codebooks."""
    rng = random.Random(20261125)
    outcomes = Outcomes("codebooks")
    canary = tmp_path / "secret.txt"
    canary.write_text("CANARY-SECRET-1234", encoding="utf-8")

    def check(path):
        def _check(result):
            shown = json.dumps(to_jsonable(tiplens.codebook_show(path, db=store)))
            assert len(shown) < 50_000_000, f"codebook show printed {len(shown)} characters"
            assert "CANARY-SECRET" not in shown and "FETCHED-FROM-NETWORK" not in shown, \
                "an external entity was read"
            stored = store.read_rows("coding_codebooks", where={"name": result["name"], "version": result["version"]})
            assert len(stored) == 1 and "CANARY-SECRET" not in stored["yaml"].iloc[0]
        return _check

    cases: list[tuple[str, Path]] = []
    for name, data in _shipped_codebooks().items():
        base_yaml = tmp_path / f"base_{name}.yaml"
        base_yaml.write_bytes(data)
        base_qdc = tmp_path / f"base_{name}.qdc"
        tiplens.codebook_export(base_yaml, base_qdc, db=store)
        qdc = base_qdc.read_bytes()
        # the bases themselves load: every failure below is the mutation's doing
        for base in (base_yaml, base_qdc):
            assert outcomes.run(f"base {base.name}", base, lambda b=base: tiplens.codebook_import(b, db=store),
                                store, check(base)) == "loaded"
        # byte damage to every codebook; the structural cases do not depend on the codebook: once
        once = name == "liberalism"
        cases += _write_cases(tmp_path, [*_byte_cases(data, rng),
                                         *(_codebook_structure_cases(data, rng) if once else [])], f"{name}.yaml")
        cases += _write_cases(tmp_path, [*_byte_cases(qdc, rng),
                                         *(_qdc_structure_cases(qdc, canary, listener) if once else [])], f"{name}.qdc")
    cases += _not_a_file(tmp_path, ".yaml", "missing.qdc")
    wrong_suffix = tmp_path / "codebook.yml"
    wrong_suffix.write_bytes(hostile.utf16(_shipped_codebooks()["realism"], rng))
    cases.append(("utf16 .yml", wrong_suffix))
    for label, path in cases:
        outcomes.run(label, path, lambda p=path: tiplens.codebook_import(p, db=store), store, check(path))
    assert not _Listener.hits, f"an external entity was fetched: {_Listener.hits}"
    outcomes.report()
    assert sum(outcomes.counts.values()) >= 120


# ==================================================================================================
# 2. knowledge-base files
# ==================================================================================================
PREFIX = "user_"


def _package_kb() -> dict[str, dict]:
    folder = resources.files("tiplens.lens").joinpath("data")
    return {name: yaml.safe_load(folder.joinpath(name).read_text(encoding="utf-8"))
            for name in ("documents.yaml", "concepts.yaml", "entities.yaml", "relations.yaml", "paper_table.yaml")}


def kb_bases(folder: Path) -> list[Path]:
    """One valid user file per package file: its entries under new ids, citing renamed documents."""
    package = _package_kb()
    documents = [{**d, "id": PREFIX + d["id"]} for d in package["documents.yaml"]["documents"]]
    entity_ids = {e["id"] for e in package["entities.yaml"]["entities"]}

    def cite(entry):
        entry = dict(entry)
        if entry.get("sources"):
            entry["sources"] = [PREFIX + s for s in entry["sources"]]
        return entry

    bases = {
        "documents.yaml": {"documents": documents},
        "concepts.yaml": {"documents": documents, "concepts": [
            {**c, "id": PREFIX + c["id"], "references": [PREFIX + r for r in c["references"]]}
            for c in package["concepts.yaml"]["concepts"]]},
        "entities.yaml": {"documents": documents, "entities": [
            {**cite(e), "id": PREFIX + e["id"]} for e in package["entities.yaml"]["entities"]]},
        "relations.yaml": {"documents": documents, "relations": [
            {**cite(r), "from": PREFIX + r["from"], "to": PREFIX + r["to"] if r["to"] in entity_ids else r["to"]}
            for r in package["relations.yaml"]["relations"]]},
        "paper_table.yaml": {"rows": [{**row, "row": row["row"] + 1000} for row in package["paper_table.yaml"]["rows"]]},
    }
    # relations point at renamed entities, so that file carries them too
    bases["relations.yaml"]["entities"] = bases["entities.yaml"]["entities"]
    out = []
    for name, content in bases.items():
        path = folder / f"base_{name}"
        path.write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True), encoding="utf-8")
        out.append(path)
    return out


def _kb_structure_cases(data: bytes):
    content = yaml.safe_load(data)
    section = next((k for k in content if k != "documents"), "documents")

    def edited(edit) -> bytes:
        copy = yaml.safe_load(data)
        edit(copy)
        return yaml.safe_dump(copy, sort_keys=False, allow_unicode=True).encode()

    def first(copy):
        return copy[section][0]

    yield "duplicate_entry", edited(lambda c: c[section].append(dict(c[section][0])))
    yield "package_id_reused", edited(lambda c: first(c).update(id="seed_paper", row=1))
    yield "unknown_field", edited(lambda c: first(c).update(colour="red"))
    yield "unknown_section", edited(lambda c: c.update(people=[{"id": "x"}]))
    yield "section_not_list", edited(lambda c: c.update({section: {"id": "x"}}))
    yield "entry_not_mapping", edited(lambda c: c[section].insert(0, "just text"))
    yield "missing_source", edited(lambda c: [first(c).pop(k, None) for k in ("sources", "source_missing")])
    yield "unknown_source", edited(lambda c: first(c).update(sources=["no_such_document"]))
    yield "unknown_concept", edited(lambda c: first(c).update(concepts=["realpolitik"]))
    yield "year_text", edited(lambda c: first(c).update(year="two thousand", founded="x", start="x"))
    yield "year_huge", edited(lambda c: first(c).update(year=10**30, founded=10**30, start=10**30, row=10**30))
    yield "id_uppercase", edited(lambda c: first(c).update(id="Bad Id!"))
    yield "id_list", edited(lambda c: first(c).update(id=["a"], row=["1"]))
    yield "country_unknown", edited(lambda c: c.update(memberships=[{"country": "XXX", "entity": "unodc",
                                                                      "status": "party", "sources": ["seed_paper"]}]))
    yield "status_invalid", edited(lambda c: c.update(memberships=[{"country": "DNK", "entity": "unodc",
                                                                     "status": "friend", "sources": ["seed_paper"]}]))
    yield "huge_string", edited(lambda c: first(c).update(note="slavery " * 400_000, citation="x " * 400_000))
    yield "many_entries", edited(lambda c: c.update(documents=(c.get("documents") or []) + [
        {"id": f"bulk_{i}", "citation": f"Citation {i}"} for i in range(20_000)]))
    yield "unicode_controls", edited(lambda c: first(c).update(note="\u202e\u200b<script>alert(1)</script>"))
    text = data.decode("utf-8")
    yield "python_tag", b"documents: !!python/object/apply:os.system ['echo unsafe']\n"
    yield "python_module_tag", b"documents:\n  - !!python/module:os\n"
    yield "duplicate_key", (f"{section}: []\n" + text).encode()
    yield "recursive_alias", b"documents: &d [*d]\n"
    yield "deep_nesting", b"documents: " + b"[" * 5000 + b"]" * 5000 + b"\n"
    yield "top_level_list", b"- documents\n- entities\n"
    yield "top_level_scalar", b"42\n"
    yield "tabs", text.replace("  ", "\t", 4).encode()
    yield "only_comments", b"# nothing here\n"


def test_knowledge_base_files(store, tmp_path):
    """``lens_kb(extra=[FILE])`` (and ``tiplens lens table --kb FILE``) on broken knowledge-base files."""
    from tiplens.cli import app
    rng = random.Random(7)
    outcomes = Outcomes("knowledge-base files")
    cases = []
    for base in kb_bases(tmp_path):
        assert outcomes.run(f"base {base.name}", base, lambda b=base: tiplens.lens_kb(db=store, extra=[b])) \
            == "loaded"
        data = base.read_bytes()
        stem = base.name.removeprefix("base_")
        cases += _write_cases(tmp_path, [*_byte_cases(data, rng), *_kb_structure_cases(data)], stem)
    cases += _not_a_file(tmp_path, ".yaml", "missing.yaml")
    for label, path in cases:
        outcomes.run(label, path, lambda p=path: tiplens.lens_kb(db=store, extra=[p]))
    # the command line: one line naming the file, exit code 1, never a traceback
    runner = CliRunner()
    # the command opens its store read-only, which DuckDB refuses while this process holds it for
    # writing: the command line gets a store of its own
    db = tmp_path / "cli.duckdb"
    tiplens.open_store(db, with_default=True).close()
    cli_counts = collections.Counter()
    for label, path in cases[:: max(1, len(cases) // 12)]:
        args = ["lens", "table", "--kb", str(path), "--json", "--db", str(db)]
        result = runner.invoke(app, args)
        if result.exit_code == 0:
            cli_counts["loaded"] += 1
            continue
        cli_counts["error"] += 1
        if not isinstance(result.exception, SystemExit) or result.exit_code != 1:
            outcomes.failures.append(f"cli {label}: exit {result.exit_code}, {result.exception!r}")
        elif path.name not in result.output and path.name not in (result.stderr if result.stderr_bytes else ""):
            outcomes.failures.append(f"cli {label}: message does not name the file: {result.output[:200]}")
    print(f"\ntiplens lens table --kb FILE: {sum(cli_counts.values())} cases: {dict(cli_counts)}")
    TALLY.update({f"lens table --kb {k}": v for k, v in cli_counts.items()})
    outcomes.report()
    assert sum(outcomes.counts.values()) >= 150


# ==================================================================================================
# 3. bibliographies (BibTeX, RIS, CSV, ASReview)
# ==================================================================================================
def _seed_records() -> list[dict]:
    from tiplens.review.references import read_bibtex
    path = Path(str(resources.files("tiplens.review").joinpath("data", "seed_paper.bib")))
    return read_bibtex(path)


def _write_ris(records: list[dict]) -> bytes:
    lines = []
    for r in records:
        lines.append("TY  - " + ("JOUR" if r["entry_type"] == "article" else "GEN"))
        for author in (r["authors"] or "").split("; "):
            if author:
                lines.append(f"AU  - {author}")
        lines += [f"TI  - {r['title']}", f"PY  - {r['year'] or ''}", f"ID  - {r['key']}"]
        if r["journal"]:
            lines.append(f"T2  - {r['journal']}")
        lines.append("ER  - ")
        lines.append("")
    return "\n".join(lines).encode("utf-8")


def _write_csv(records: list[dict], asreview: bool = False) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["record_id", "title", "authors", "year", "journal", "abstract", "doi"]
    writer.writerow(header + (["asreview_label", "asreview_note"] if asreview else []))
    for i, r in enumerate(records):
        row = [r["key"], r["title"], r["authors"], r["year"], r["journal"] or "", r["abstract"] or "",
               f"10.9999/hostile.{i}"]
        writer.writerow(row + ([i % 2, "synthetic label"] if asreview else []))
    return buffer.getvalue().encode("utf-8")


def _bib_cases(data: bytes, rng: random.Random):
    text = data.decode("utf-8")
    closing = [i for i, ch in enumerate(text) if ch == "}"]
    opening = [i for i, ch in enumerate(text) if ch == "{"]
    for i in range(2 * ROUNDS):
        at = rng.choice(closing)
        yield f"missing_brace{i}", (text[:at] + text[at + 1:]).encode()
        at = rng.choice(opening)
        yield f"extra_brace{i}", (text[:at] + "{" + text[at:]).encode()
    yield "huge_field", text.replace("title     = {", "title     = {" + "trafficking " * 100_000, 1).encode()
    yield "huge_abstract", text.replace("@incollection{citaristi2022unodc,",
                                        "@incollection{citaristi2022unodc,\n  abstract = {" + "a" * 3_000_000 + "},",
                                        1).encode()
    yield "deep_braces", text.replace("title     = {", "title     = {" + "{" * 5000 + "x" + "}" * 5000, 1).encode()
    yield "duplicate_keys", (text + "\n" + text[text.index("@incollection"):text.index("}\n\n") + 2]).encode()
    yield "string_macro_loop", b"@string{a = b}\n@string{b = a}\n@article{k, title = a, year = 2020}\n"
    yield "latex_junk", text.replace("title     = {", "title     = {\\\\\\{\\'\\~\\\"\\c\\u{", 1).encode()
    yield "comment_only", b"% only a comment\n@comment{nothing}\n"
    yield "entry_no_fields", b"@article{key,}\n"
    yield "no_key", b"@article{title = {No key}, year = {2020}}\n"


def _ris_cases(data: bytes, rng: random.Random):
    text = data.decode("utf-8")
    yield "missing_er", text.replace("ER  - ", "", 1).encode()
    yield "stray_er", ("ER  - \n" + text).encode()
    yield "text_outside", ("Exported by a database\n" + text).encode()
    yield "lowercase_tags", text.replace("TI  - ", "ti  - ").encode()
    yield "repeated_title", text.replace("TI  - ", "TI  - first\nTI  - ", 1).encode()
    yield "huge_title", text.replace("TI  - ", "TI  - " + "x" * 3_000_000, 1).encode()
    yield "many_records", (text * 40).encode()
    yield "unknown_tags", text.replace("PY  - ", "Z9  - what\nPY  - ").encode()
    yield "no_space_tags", text.replace("  - ", " - ").encode()


def _csv_cases(data: bytes, rng: random.Random):
    # every CSV mutation of the data-file corpus (hostile.CSV_MUTATIONS), then a few more
    for name, mutation in hostile.CSV_MUTATIONS.items():
        if name in BYTE_MUTATIONS:
            continue
        yield name, mutation(data, rng)
    yield "semicolons", data.replace(b",", b";")
    yield "unclosed_quote", data.replace(b"\n", b'\n"', 2)
    yield "only_header_no_title", b"authors,year\nSmith,2020\n"
    yield "row_without_title", data + b",,,,,,\n"
    yield "many_columns", b",".join(b"c%d" % i for i in range(20_000)) + b",title\n" + b"," * 20_000 + b"T\n"


def bibliography_bases(folder: Path) -> list[Path]:
    records = _seed_records()
    bib = Path(str(resources.files("tiplens.review").joinpath("data", "seed_paper.bib"))).read_bytes()
    out = []
    for name, data in (("seed_paper.bib", bib), ("seed_paper.ris", _write_ris(records)),
                       ("seed_paper.csv", _write_csv(records)), ("asreview_export.csv", _write_csv(records, True))):
        path = folder / f"base_{name}"
        path.write_bytes(data)
        out.append(path)
    return out


def test_bibliographies(tmp_path):
    """``review_import`` on broken BibTeX, RIS, CSV and ASReview files."""
    # a store of its own: the library grows with every file that loads, and each case reads it whole
    store = tiplens.open_store(tmp_path / "review.duckdb", with_default=False)
    try:
        _bibliographies(store, tmp_path)
    finally:
        store.close()


def _bibliographies(store, tmp_path):
    rng = random.Random(3)
    outcomes = Outcomes("bibliographies")

    def check(path, before):
        def _check(result):
            records = store.read_rows("review_records")
            assert len(records) == before + result["records"], "records stored differ from records reported"
            (file,) = result["files"]
            assert file["records"] > 0 or file["skipped"], "a file without records was imported"
        return _check

    def run(label, path):
        before = len(store.read_rows("review_records"))
        reviewer = "hostile" if "asreview" in path.name else None
        return outcomes.run(label, path, lambda: tiplens.review_import([path], db=store, asreview_reviewer=reviewer),
                            store, check(path, before))

    cases = []
    for base in bibliography_bases(tmp_path):
        assert run(f"base {base.name}", base) == "loaded"
        data = base.read_bytes()
        stem = base.name.removeprefix("base_")
        specific = {".bib": _bib_cases, ".ris": _ris_cases, ".csv": _csv_cases}[base.suffix](data, rng)
        cases += _write_cases(tmp_path, [*_byte_cases(data, rng), *specific], stem)
    pdf = tmp_path / "references.bib"
    pdf.write_bytes(b"%PDF-1.4\n" + bytes(rng.randrange(256) for _ in range(4096)))
    cases += [("a PDF named .bib", pdf), *_not_a_file(tmp_path, ".bib", "missing.ris")]
    for label, path in cases:
        run(label, path)
    # a file with several bad ones: the good one is not stored either
    good = tmp_path / "good_again.csv"
    good.write_bytes(_write_csv(_seed_records()[:3]).replace(b"hostile", b"fresh"))
    bad = tmp_path / "bad_after_good.bib"
    bad.write_bytes(b"@article{broken, title = {unclosed\n")
    outcomes.run("good file then bad file", bad, lambda: tiplens.review_import([good, bad], db=store), store)
    outcomes.report()
    assert sum(outcomes.counts.values()) >= 120


# ==================================================================================================
# 4. PDFs (and documents named .pdf)
# ==================================================================================================
def _paragraphs() -> list[str]:
    if SEED_TEXT.is_file():
        text = SEED_TEXT.read_text(encoding="utf-8", errors="replace")
        paragraphs = [" ".join(p.split()) for p in text.split("\n\n") if len(p.split()) > 25]
        if paragraphs:
            return paragraphs[:12]
    return [("States cooperate through international institutions to prosecute traffickers and protect victims. "
             "Mutual legal assistance and extradition treaties make cooperation across borders possible.")] * 6


def _pdf(path: Path, pages: list[list[str]]) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(path) as pdf:
        for page in pages:
            figure = plt.figure(figsize=(8.27, 11.69))
            y = 0.95
            for paragraph in page:
                wrapped = textwrap.fill(paragraph, 95)
                figure.text(0.06, y, wrapped, va="top", fontsize=8)
                y -= 0.025 * (wrapped.count("\n") + 2)
            pdf.savefig(figure)
            plt.close(figure)
    return path


def pdf_bases(folder: Path) -> dict[str, Path]:
    from pypdf import PdfReader, PdfWriter
    paragraphs = _paragraphs()
    base = _pdf(folder / "base_paper.pdf", [paragraphs[:4], paragraphs[4:8]])
    out = {"base": base}
    writer = PdfWriter(clone_from=PdfReader(base))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out["encrypted"] = folder / "encrypted.pdf"
    with open(out["encrypted"], "wb") as fh:
        writer.write(fh)
    writer = PdfWriter(clone_from=PdfReader(base))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    out["encrypted_empty_password"] = folder / "encrypted_empty_password.pdf"
    with open(out["encrypted_empty_password"], "wb") as fh:
        writer.write(fh)
    writer = PdfWriter()
    out["zero_pages"] = folder / "zero_pages.pdf"
    with open(out["zero_pages"], "wb") as fh:
        writer.write(fh)
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    out["blank_page"] = folder / "blank_page.pdf"
    with open(out["blank_page"], "wb") as fh:
        writer.write(fh)
    reader = PdfReader(base)
    writer = PdfWriter()
    for _ in range(60):  # many pages, bounded: pypdf extracts some 20 pages a second on a busy machine
        writer.add_page(reader.pages[0])
    out["many_pages"] = folder / "many_pages.pdf"
    with open(out["many_pages"], "wb") as fh:
        writer.write(fh)
    out["page_bomb"] = page_bomb(folder / "page_bomb.pdf")
    out["page_bomb_200k"] = page_bomb(folder / "page_bomb_200k.pdf", pages=200_000)
    out["page_bomb_nested_400k"] = page_bomb(folder / "page_bomb_nested_400k.pdf", pages=50_000, branches=8)
    out["three_pages_handmade"] = page_bomb(folder / "three_pages_handmade.pdf", pages=3)
    return out


def page_bomb(path: Path, pages: int = 50_000, branches: int = 1) -> Path:
    """A PDF of a few MB whose page tree lists one small page ``pages`` times under each of
    ``branches`` intermediate nodes (a nested tree passes pypdf's limit on one array's length)."""
    content = b"BT /F1 12 Tf 72 720 Td (States cooperate to protect victims of trafficking.) Tj ET"
    kids = b"3 0 R " * pages
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        (b"<</Type/Pages/Count %d/Kids [" % pages + kids + b"]>>") if branches == 1 else
        (b"<</Type/Pages/Count %d/Kids [" % (pages * branches)
         + b"".join(b"%d 0 R " % (6 + i) for i in range(branches)) + b"]>>"),
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>\nstream\n" % len(content) + content + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
        *[b"<</Type/Pages/Parent 2 0 R/Count %d/Kids [" % pages + kids + b"]>>" for _ in range(branches)
          if branches > 1],
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def _pdf_byte_cases(data: bytes, rng: random.Random):
    for i in range(4 * ROUNDS):
        yield f"truncate{i}", hostile.truncate(data, rng)
    for i in range(5 * ROUNDS):
        yield f"flip_bytes{i}", hostile.flip_bytes(data, rng)
    for i in range(2 * ROUNDS):
        yield f"nul_bytes{i}", hostile.nul_bytes(data, rng)
    yield "no_xref", data[:data.rfind(b"xref")] if b"xref" in data else data[: len(data) // 2]
    yield "header_only", b"%PDF-1.7\n"
    yield "empty", b""
    yield "binary", _binary(data, rng)
    yield "text_named_pdf", b"Cooperation between states matters. It works.\n"
    yield "html_named_pdf", b"<html><body><script>alert(1)</script></body></html>"
    yield "zip_named_pdf", b"PK\x03\x04" + bytes(2048)
    yield "utf16", hostile.utf16(data, rng)
    yield "two_pdfs_concatenated", data + data
    yield "garbage_after_eof", data + bytes(rng.randrange(256) for _ in range(4096))
    yield "self_referencing_xref", data.replace(b"startxref", b"startxref\n0\n%%EOF\nstartxref", 1)


def test_pdfs(store, tmp_path):
    """``code`` (dictionary method) on generated PDFs, damaged, encrypted, empty, page-less, huge."""
    rng = random.Random(13)
    outcomes = Outcomes("PDFs")
    bases = pdf_bases(tmp_path)

    def check(path):
        def _check(frame):
            documents = store.read_rows("coding_documents", where={"document": path.name})
            assert len(documents) == 1, "the coded document is not in the store"
            segments = store.read_rows("coding_segments", where={"document": path.name})
            assert int(documents["segments"].iloc[0]) == len(segments) > 0
        return _check

    def run(label, path):
        return outcomes.run(label, path, lambda: tiplens.code([path], db=store, codebook="liberalism",
                                                              method="dictionary"), store, check(path))

    assert run("base", bases["base"]) == "loaded"
    cases = [(name, path) for name, path in bases.items() if name != "base"]
    data = bases["base"].read_bytes()
    for label, mutated in _pdf_byte_cases(data, rng):
        path = tmp_path / f"{label}.pdf"
        path.write_bytes(mutated)
        cases.append((label, path))
    cases += _not_a_file(tmp_path, ".pdf", "missing.pdf")
    for label, path in cases:
        run(label, path)
    # a good document and a broken one together: neither is stored
    good = tmp_path / "good_copy.pdf"
    good.write_bytes(data)
    outcomes.run("good then broken", tmp_path / "truncate0.pdf",
                 lambda: tiplens.code([good, tmp_path / "truncate0.pdf"], db=store), store)
    outcomes.report()
    assert sum(outcomes.counts.values()) >= 30


# ==================================================================================================
# bombs, in a child process with capped memory and a timeout
# ==================================================================================================
def _billion_laughs_qdc() -> bytes:
    entities = ['<!ENTITY lol0 "lollollollollollollollollollol">']
    entities += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    return ('<?xml version="1.0"?>\n<!DOCTYPE CodeBook [' + "".join(entities) + ']>'
            '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code guid="1" name="&lol9;">'
            '<Description>x</Description></Code></Codes></CodeBook>').encode()


def _quadratic_qdc() -> bytes:
    big = "A" * 100_000
    return ('<?xml version="1.0"?>\n<!DOCTYPE CodeBook [<!ENTITY a "' + big + '">]>'
            '<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code guid="1" name="x"><Description>'
            + "&a;" * 50_000 + '</Description></Code></Codes></CodeBook>').encode()


def _flate_bomb_pdf(path: Path, inflated_mb: int = 400) -> Path:
    """A one-page PDF whose content stream inflates to ``inflated_mb`` MB of text operators."""
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, StreamObject
    compressor = zlib.compressobj(9)
    chunk = b"BT /F1 12 Tf 72 720 Td (cooperation ) Tj ET\n" * 20_000
    parts, written = [], 0
    while written < inflated_mb << 20:
        parts.append(compressor.compress(chunk))
        written += len(chunk)
    parts.append(compressor.flush())
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    stream = StreamObject()
    stream._data = b"".join(parts)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    page[NameObject("/Contents")] = writer._add_object(stream)
    with open(path, "wb") as fh:
        writer.write(fh)
    return path


def test_bombs_are_refused_quickly_with_bounded_memory(tmp_path):
    """Entity, alias and decompression bombs: a clear error (or a bounded load) in seconds, under 1.5 GB."""
    bombs = {
        "billion_laughs.qdc": ("codebook", _billion_laughs_qdc()),
        "quadratic_blowup.qdc": ("codebook", _quadratic_qdc()),
        # the anchors sit where unknown keys are allowed (coder settings), so validation reaches the alias
        "alias_bomb_codes.yaml": ("codebook", (f"coders: {{bomb: {_alias_bomb()}}}\nname: x\nversion: '1'\n"
                                               "codes: *l8\n").encode()),
        "alias_bomb_coders.yaml": ("codebook", (f"coders: {{dictionary: {{min_terms: 1}}, bomb: {_alias_bomb()}}}\n"
                                                "name: x\nversion: '1'\n"
                                                "codes:\n  - {code: a, definition: A thing., keywords: [aid]}\n"
                                                ).encode()),
        "alias_bomb_keywords.yaml": ("codebook", (f"coders: {{bomb: {_alias_bomb()}}}\nname: x\nversion: '1'\n"
                                                  "codes:\n  - {code: a, definition: A., keywords: *l8}\n").encode()),
        "alias_bomb_kb.yaml": ("kb", f"documents:\n  - {{id: bomb, citation: c, locator: {_alias_bomb()}}}\n".encode()),
        "alias_bomb_kb_concepts.yaml": ("kb", (f"documents:\n  - {{id: bomb, citation: c, locator: {_alias_bomb()}}}\n"
                                               "concepts:\n  - {id: c, label: c, definition: d, references: *l8}\n"
                                               ).encode()),
        "flate_bomb.pdf": ("pdf", None),
    }
    for name, (_, data) in bombs.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
    _flate_bomb_pdf(tmp_path / "flate_bomb.pdf")
    script = textwrap.dedent(f"""
        import json, resource, sys, time
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
        import tiplens
        from tiplens._cli_common import to_jsonable
        from tiplens.errors import TiplensError
        from tiplens.lens.kb import load_kb
        store = tiplens.open_store({str(tmp_path / 'b.duckdb')!r}, with_default=False)
        kind, path = sys.argv[1], sys.argv[2]
        started = time.monotonic()
        try:
            if kind == "codebook":
                result = tiplens.codebook_import(path, db=store)
                shown = json.dumps(to_jsonable(tiplens.codebook_show(path, db=store)))
                print("LOADED", len(shown))
            elif kind == "kb":
                kb = load_kb([path])  # countries unchecked: the embedded default needs more than the cap
                print("LOADED", len(kb.documents))
            else:
                frame = tiplens.code([path], db=store)
                print("LOADED", len(frame))
        except TiplensError as exc:
            print("ERROR", exc)
        print("SECONDS", round(time.monotonic() - started, 1))
        print("PEAK_MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    """)
    outcomes = Outcomes("bombs")
    lines = []
    for name, (kind, _) in bombs.items():
        path = tmp_path / name

        def call(kind=kind, path=path, name=name):
            try:
                done = subprocess.run([sys.executable, "-c", script, kind, str(path)], capture_output=True,
                                      text=True, timeout=90, check=False)
            except subprocess.TimeoutExpired:
                raise AssertionError("no answer within 90 s") from None
            assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-600:]}"
            first, seconds, peak = done.stdout.strip().splitlines()[-3:]
            lines.append(f"  {name}: {first[:110]} ({seconds.split()[1]} s, peak {peak.split()[1]} MB)")
            if first.startswith("ERROR"):
                raise TiplensError(first.removeprefix("ERROR "))
            return first

        outcomes.run(name, path, call)
    print("\n" + "\n".join(lines))
    outcomes.report()


def test_print_summary():
    print(f"\nhostile codebooks, knowledge-base files, bibliographies and PDFs: {dict(sorted(TALLY.items()))}; "
          f"total {sum(TALLY.values())}")
    assert TALLY
