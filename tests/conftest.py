"""Shared fixtures.

Tests that need the real public files use the ``real_data`` fixture: it points at
``$TIPLENS_TEST_DATA`` (default ``../shared/data`` beside the repository). Where that folder is
missing the tests are skipped with a message naming the setting, except under CI
(``TIPLENS_REQUIRE_TEST_DATA=1``, set by ``.ci/run``), where their absence is an error.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def real_data_dir() -> Path:
    return Path(os.environ.get("TIPLENS_TEST_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    path = real_data_dir()
    if not (path / "unodc_glotip").is_dir():
        message = (f"real public files not found at {path}: set TIPLENS_TEST_DATA to the folder "
                   "that holds unodc_glotip/, tip_tiers_kelley/, ...")
        if os.environ.get("TIPLENS_REQUIRE_TEST_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def empty_store(tmp_path):
    """A new store with the schema but without the embedded default dataset."""
    from tiplens.store import open_store
    store = open_store(tmp_path / "test.duckdb", with_default=False)
    yield store
    store.close()


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Never touch the user's own store or cache: point the defaults into a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("TIPLENS_DB", str(home / "default.duckdb"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.delenv("TIPLENS_FETCH_MIRROR", raising=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI (TIPLENS_REQUIRE_TEST_DATA=1) nothing may skip: a missing browser, extra, seed text or
    permission is an install step that failed, so it fails the run. Only the opt-in soak test
    (TIPLENS_SOAK=1) may be left out."""
    outcome = yield
    report = outcome.get_result()
    if (report.skipped and os.environ.get("TIPLENS_REQUIRE_TEST_DATA") == "1"
            and "TIPLENS_SOAK" not in str(report.longrepr)):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must run every test: {report.longrepr}"


def pytest_terminal_summary(terminalreporter):
    """Say once why tests were skipped (instead of one line per test)."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in reasons.items():
        terminalreporter.write_line(f"{count} tests skipped: {reason}")
