"""Build src/tiplens/harmonise/data/country_name_cache.csv: country_converter's answer for every
country name that the public files pass to it (see tiplens.harmonise.countries.name_cache).

    python scripts/build_country_cache.py [DATA_DIR]    (default: $TIPLENS_TEST_DATA or ../shared/data)

Runs every source's read + normalise over every file in DATA_DIR with the cache switched off,
records the names sent to country_converter, and writes them with its answers.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

from tiplens.harmonise import countries
from tiplens.sources import SOURCES

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(
        os.environ.get("TIPLENS_TEST_DATA", REPO.parent / "shared" / "data"))
    countries._use_name_cache = False
    for path in sorted(data.rglob("*")):
        if not path.is_file() or path.suffix not in (".csv", ".xlsx"):
            continue
        for module in SOURCES.values():
            if module.detect(path):
                raw = module.read(path)
                module.normalise(raw)
    names = sorted(countries.coco_calls)
    table = countries.resolve(names, "name").set_index("value")
    out = REPO / "src" / "tiplens" / "harmonise" / "data" / "country_name_cache.csv"
    with open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["name", "iso3"])
        for name in names:
            row = table.loc[name]
            iso3 = row["iso3"] if row["status"] == "matched" else ""
            writer.writerow([name, iso3 or ""])
    print(f"{out.relative_to(REPO)}: {len(names)} names")


if __name__ == "__main__":
    main()
