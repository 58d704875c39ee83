"""benchmarks/run_all.py: reading RESULT lines from benchmark scripts (fake scripts, no real benchmark)."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import pytest

RUN_ALL = Path(__file__).resolve().parents[1] / "benchmarks" / "run_all.py"


@pytest.fixture(scope="module")
def run_all():
    spec = importlib.util.spec_from_file_location("run_all", RUN_ALL)
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_all"] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("run_all", None)


def write_script(folder: Path, name: str, body: str) -> Path:
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_reads_the_last_result_line_and_fills_ratio_and_verdict(run_all, tmp_path):
    # the fake prints an earlier RESULT line that must be ignored, then chatter, then the real one
    payload = {"figures": [
        {"name": "fast thing", "target": "<= 1.5 s", "measured": 0.5, "baseline": 2.0, "unit": "s"},
        {"name": "slow thing", "target": ">= 300 sent/s", "measured": 120, "unit": "sent/s"},
        {"name": "context only", "target": None, "measured": 7, "baseline": 14, "ratio": 0.25, "unit": "ms"},
    ]}
    script = write_script(tmp_path, "fake", f"""
        print('RESULT {{"figures": [{{"name": "stale", "measured": 1}}]}}')
        print("a human-readable table")
        print('RESULT ' + {json.dumps(json.dumps(payload))})
    """)
    outcome = run_all.run_script(script, timeout=60)
    assert outcome.status == "ok", outcome.detail
    assert [f["name"] for f in outcome.figures] == ["fast thing", "slow thing", "context only"]
    fast, slow, context = outcome.figures
    assert fast["ratio"] == pytest.approx(0.25)  # 0.5 / 2.0, filled by the runner
    assert fast["met"] is True  # 0.5 <= 1.5
    assert slow["met"] is False and slow["ratio"] is None  # 120 < 300; no baseline
    assert context["ratio"] == 0.25  # a ratio the script gives is kept as given
    assert context["met"] is None  # no target: no verdict
    table = run_all.text_table([outcome])
    assert "MISSED" in table and "0.25x" in table and "stale" not in table


def test_script_without_result_line_is_listed_not_dropped(run_all, tmp_path):
    script = write_script(tmp_path, "chatty", 'print("took 3 s, fine")\n')
    outcome = run_all.run_script(script, timeout=60)
    assert outcome.status == run_all.NO_RESULT == "no machine-readable result"
    assert outcome.figures == []
    assert "no machine-readable result" in run_all.text_table([outcome])


def test_broken_json_crash_and_timeout_are_reported(run_all, tmp_path):
    broken = run_all.run_script(write_script(tmp_path, "broken", 'print("RESULT {not json")\n'), timeout=60)
    assert broken.status == "bad RESULT line"
    crash = run_all.run_script(write_script(tmp_path, "crash", 'raise SystemExit("no data folder")\n'), timeout=60)
    assert crash.status == "failed" and "exit code 1: no data folder" in crash.detail
    slow = run_all.run_script(write_script(tmp_path, "slow", "import time\ntime.sleep(60)\n"), timeout=1)
    assert slow.status == "timed out" and slow.seconds < 30


def test_quick_option_only_for_scripts_that_declare_it(run_all, tmp_path):
    declared = write_script(tmp_path, "declared", 'import sys\nparser_flag = "--quick"\nprint(sys.argv[1:])\n')
    plain = write_script(tmp_path, "plain", "print('no options')\n")
    assert run_all.quick_options(declared) == ["--quick"]
    assert run_all.quick_options(plain) == []


@pytest.mark.parametrize(("target", "measured", "met"), [
    ("<= 1 s", 1.0, True), ("< 1 s", 1.0, False), (">= 20,000 sent/s", 19_999, False),
    ("== 0 errors", 0, True), ("== 0 errors", 2, False), ("0", 1, False), ("0", 0, True),
    ("no errors", 0, None), (None, 3, None), ("", 3, None),
])
def test_target_text(run_all, target, measured, met):
    assert run_all.target_met(target, measured) is met


def test_figure_helper_round_trips_through_the_parser(run_all):
    line = run_all.result_line([run_all.figure("x", 3.0, "s", target="< 30 s", baseline=6.0),
                                run_all.figure("nan", float("nan"), "ms")])
    figures, why = run_all.parse_result("noise\n" + line + "\n")
    assert why == ""
    assert figures[0] == {"name": "x", "target": "< 30 s", "measured": 3.0, "baseline": 6.0, "ratio": 0.5,
                          "unit": "s", "met": True}
    assert figures[1]["measured"] is None  # NaN is not JSON: sent as null


def test_saved_run_prints_again_without_running(run_all, tmp_path, capsys):
    outcome = run_all.Outcome("fake", "ok", [run_all.figure("x", 3.0, "s", target="< 30 s", baseline=6.0)],
                              seconds=1.0, load={"min": 1.0, "mean": 1.5, "max": 2.0, "samples": 2})
    missing = run_all.Outcome("other", run_all.NO_RESULT, detail=run_all.NO_RESULT)
    info = {"cpu": "test cpu", "cores": 2, "usable_cores": 2, "ram_gb": 1.0, "python": "3", "os": "test os",
            "date": "today", "commit": "abc", "blas_threads": "unset"}
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(run_all.as_json(info, [outcome, missing], quick=False)), encoding="utf-8")
    assert run_all.main(["--from", str(saved), "--markdown"]) == 0
    printed = capsys.readouterr().out
    assert "| fake | x | < 30 s | 3 s | 6 s | 0.50x | yes |" in printed
    assert "| other | (no machine-readable result) |" in printed
    assert "test cpu" in printed and "load 1.0–2.0" in printed
