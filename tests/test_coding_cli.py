"""`tiplens code`, `tiplens codings ...`, `tiplens codebook ...`: --json prints exactly what the twin returns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tiplens import _api_coding as coding
from tiplens.cli import app, to_jsonable
from tiplens.store import open_store

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_17f5d2a2eb818521.txt"
runner = CliRunner()


def _fresh(path: Path) -> Path:
    open_store(path, with_default=False).close()
    return path


def _json(args: list[str]):
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def seed():
    if not SEED.is_file():
        pytest.skip(f"seed paper not found at {SEED}")
    return SEED


@pytest.fixture(scope="module")
def coded(tmp_path_factory, seed):
    """Two stores coded the same way: one through the CLI, one through the twin."""
    folder = tmp_path_factory.mktemp("cli")
    cli_db, twin_db = _fresh(folder / "cli.duckdb"), _fresh(folder / "twin.duckdb")
    printed = _json(["code", str(seed), "--db", str(cli_db)])
    twin = coding.code([seed], db=twin_db)
    return cli_db, twin_db, printed, twin


def test_code_json_is_the_twin(coded):
    _, _, printed, twin = coded
    assert printed == to_jsonable({"rows": twin[coding.CODE_COLUMNS]})
    assert set(printed["rows"][0]) >= {"document", "segment", "text", "code", "score", "method"}


@pytest.mark.parametrize("precision", ["int8", "float32"])
def test_code_with_the_embedding_coder_json_is_the_twin(tmp_path, precision):
    pytest.importorskip("sentence_transformers", reason="the optional extra tiplens[embeddings] is not installed")
    document = tmp_path / "note.md"
    document.write_text("# Note\n\nInterpol and UNODC share data on trafficking networks across borders. "
                        "Victims have a right to protection and legal aid.\n", encoding="utf-8")
    cli_db, twin_db = _fresh(tmp_path / "cli.duckdb"), _fresh(tmp_path / "twin.duckdb")
    printed = _json(["code", str(document), "--method", "embedding", "--precision", precision, "--db", str(cli_db)])
    twin = coding.code([document], db=twin_db, method="embedding", precision=precision)
    assert printed == to_jsonable({"rows": twin[coding.CODE_COLUMNS]})
    assert {row["method"] for row in printed["rows"]} == {"embedding"}


def test_code_refuses_an_unknown_precision(tmp_path):
    pytest.importorskip("sentence_transformers", reason="the optional extra tiplens[embeddings] is not installed")
    document = tmp_path / "note.txt"
    document.write_text("Interpol shares data.\n", encoding="utf-8")
    result = runner.invoke(app, ["code", str(document), "--method", "embedding", "--precision", "fp16",
                                 "--db", str(_fresh(tmp_path / "s.duckdb"))])
    assert result.exit_code == 1
    assert "precision 'fp16': choose one of int8, float32" in result.output


def test_codings_list_accept_reject_json(coded):
    cli_db, twin_db, _, _ = coded
    accepted = _json(["codings", "accept", "1", "2", "--coder", "ana", "--db", str(cli_db)])
    assert [d["suggestion_id"] for d in accepted["decisions"]] == [1, 2]
    rejected = _json(["codings", "reject", "3", "--coder", "ana", "--note", "too broad", "--db", str(cli_db)])
    assert rejected["decisions"][0]["note"] == "too broad"
    coding.codings_accept([1, 2], db=twin_db, coder="ana")
    coding.codings_reject([3], db=twin_db, coder="ana", note="too broad")
    printed = _json(["codings", "list", "--status", "accepted", "--db", str(cli_db)])
    assert printed == to_jsonable({"rows": coding.codings_list(db=cli_db, status="accepted")})
    assert [r["id"] for r in printed["rows"]] == [1, 2]
    queried = _json(["codings", "list", "--query", "cooperation AND human_rights", "--db", str(cli_db)])
    assert queried == to_jsonable({"rows": coding.codings_list(db=cli_db, query="cooperation AND human_rights")})


def test_codings_agree_json(coded):
    cli_db, _, _, _ = coded
    printed = _json(["codings", "agree", "--db", str(cli_db)])
    assert printed == to_jsonable({"rows": coding.codings_agree(db=cli_db)})


def test_codings_export_json(coded, tmp_path):
    cli_db, _, _, _ = coded
    printed = _json(["codings", "export", str(tmp_path / "f.csv"), "--table", "frequencies", "--db", str(cli_db)])
    assert printed == {"path": str(tmp_path / "f.csv"), "table": "frequencies",
                       "rows": len(coding.codings_frequencies(db=cli_db))}


def test_codings_compare_json(coded, seed):
    cli_db, twin_db, _, _ = coded
    printed = _json(["codings", "compare", str(seed), "--db", str(cli_db)])
    assert printed == to_jsonable({"rows": coding.lens_compare([seed], db=twin_db)})


def test_codebook_commands_json(coded, tmp_path):
    cli_db, _, _, _ = coded
    assert _json(["codebook", "list", "--db", str(cli_db)]) == to_jsonable({"codebooks": coding.codebook_list(db=cli_db)})
    assert _json(["codebook", "show", "constructivism", "--db", str(cli_db)]) == to_jsonable(
        coding.codebook_show("constructivism", db=cli_db))
    exported = _json(["codebook", "export", "liberalism", str(tmp_path / "l.qdc"), "--db", str(cli_db)])
    assert exported == {"path": str(tmp_path / "l.qdc"), "name": "liberalism", "version": "1.0", "codes": 11}
    imported = _json(["codebook", "import", str(tmp_path / "l.qdc"), "--db", str(cli_db)])
    assert imported == {"name": "liberalism", "version": "1.0", "codes": 11, "path": str(tmp_path / "l.qdc"),
                        "replaced": False}


def test_errors_are_one_line(coded, tmp_path):
    cli_db, _, _, _ = coded
    (tmp_path / "scan.pdf").write_bytes(b"")
    result = runner.invoke(app, ["code", str(tmp_path / "scan.pdf"), "--db", str(cli_db)])
    assert result.exit_code == 1
    assert "error:" in result.output and "the PDF file is empty" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["code", str(SEED), "--codebook", "nope", "--db", str(cli_db)])
    assert result.exit_code == 1 and "no such codebook or file" in result.output


def test_human_output(coded, seed):
    cli_db, _, _, _ = coded
    result = runner.invoke(app, ["code", str(seed), "--limit", "3", "--db", str(cli_db)])
    assert result.exit_code == 0 and "suggestions (dictionary coder" in result.output
    result = runner.invoke(app, ["codings", "compare", "--db", str(cli_db)])
    assert result.exit_code == 0 and "Caveat:" in result.output
