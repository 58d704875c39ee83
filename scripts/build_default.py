"""Build the embedded default dataset shipped in src/tiplens/default/ from the public files.

    python scripts/build_default.py [DATA_DIR]    (default: $TIPLENS_TEST_DATA or ../shared/data)

Only sources whose terms allow redistribution are included (see src/tiplens/default/sources.yaml).
tests/test_default.py checks that the shipped tables equal what this script builds.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from tiplens._default import build_default_tables, write_default

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(
        os.environ.get("TIPLENS_TEST_DATA", REPO.parent / "shared" / "data"))
    with tempfile.TemporaryDirectory() as tmp:
        tables = build_default_tables(data, Path(tmp) / "scratch.duckdb")
    for path in write_default(tables, REPO / "src" / "tiplens" / "default"):
        rows = len(tables[path.stem])
        print(f"{path.relative_to(REPO)}: {rows} rows, {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
