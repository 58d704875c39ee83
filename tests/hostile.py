"""A corpus of broken input files, generated from the real public files (no file is checked in).

:func:`bases` picks one real file per source (a CSV cut to its first records at a record
boundary, so each base stays small) plus the xlsx workbooks; :data:`MUTATIONS` breaks a base in
one way each; :func:`corpus` writes every (base, mutation) case to a folder. :func:`fixed_cases`
adds the files that need no base: an empty file, random binary, a zip bomb renamed ``.xlsx``,
a folder given as a file. :func:`big_csv` writes a large valid GLOTIP-shaped CSV, and
:func:`ingest_in_child` ingests it in a child process reporting its peak memory (which must stay
flat while such a file is read).

Every case is a :class:`Case`: the file, the ``--source`` and ``--edition`` a user would pass
(``source`` None means "let tiplens detect it"), and what was done to it.
"""

from __future__ import annotations

import csv
import io
import random
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

#: (source, path under the data folder, edition) of the files the corpus is made from: one or two
#: per source, the smaller ones; the catalogue in ``tiplens._default`` lists the same editions.
BASE_FILES: list[tuple[str, str, str | None]] = [
    ("glotip", "unodc_glotip/data_glotip_2025-04-14.csv", "2025-04-14"),
    ("glotip", "unodc_glotip/data_glotip_2023-05-30.xlsx", None),
    ("tip_tiers", "tip_tiers_kelley/tip_tiers_orig.csv", "2015"),
    ("tip_tiers", "tip_tiers_factbook/factbook_tier_rating_snapshots.csv", "2026-05-17"),
    ("policy_3p", "anti_tip_policy_3p/policy_index.csv", "2015"),
    ("kelley_simmons", "kelley_simmons_panel/kelley_simmons_ajps_2014_replication.csv", "2014"),
    ("gsi", "walkfree_gsi_2023/2023-Global-Slavery-Index-Data.xlsx", None),
    ("gsi", "walkfree_gsi_2023/gsi_2023_palermo_indicator_M2121.csv", "2023"),
    ("wgi", "wgi_governance/2020_Worldwide_Governance_Indicators_1996-2019.csv", "2020"),
    ("gdp", "gdp_per_capita_owid/gdp-per-capita-worldbank.csv", "2024"),
    ("hdr", "undp_hdr_2023_24/HDR23-24_Composite_indices_complete_time_series.csv", "2024"),
    ("un_treaties", "un_hr_treaty_status/hr_status_crc.csv", "2022"),
    ("mse_lists", "mse_modern_slavery_lists/UKdat.csv", "2019"),
    ("us_prosecutions", "us_federal_ht_cases_htdp/defendant_data.csv", "2018"),
    ("us_prosecutions", "us_federal_ht_cases_htdp/judge_data.csv", "2018"),
    ("case_law", "unodc_cldb_us_cases/HumanTrafficking_CLDB.csv", "2017"),
    ("membership", "cooperation_membership/palermo_protocol_xviii_12_a.csv", "2025-11"),
    ("membership", "cooperation_membership/frameworks.csv", "2025-11"),
]
#: Data records kept of each CSV base (the whole file when it is shorter).
BASE_RECORDS = 120


@dataclass
class Case:
    path: Path
    source: str | None
    edition: str | None
    base: str            # the real file it was made from ('' for fixed cases)
    mutation: str


# -- bases ------------------------------------------------------------------------------------
def _cut_at_record(data: bytes, records: int) -> bytes:
    """The header and the first ``records`` records, cut at a line end outside quotes."""
    lines = data.splitlines(keepends=True)
    quotes, kept, count = 0, [], -1
    for line in lines:
        kept.append(line)
        quotes += line.count(b'"')
        if quotes % 2 == 0:
            count += 1
            if count >= records:
                break
    return b"".join(kept)


def bases(real_data: Path, folder: Path) -> list[Case]:
    """Valid, small copies of the real files (CSV cut to :data:`BASE_RECORDS` records)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for source, relative, edition in BASE_FILES:
        original = real_data / relative
        if not original.exists():
            continue
        target = folder / f"base_{original.name}"
        data = original.read_bytes()
        if original.suffix == ".csv":
            data = _cut_at_record(data, BASE_RECORDS)
        target.write_bytes(data)
        out.append(Case(target, source, edition, relative, "none"))
    return out


# -- mutations --------------------------------------------------------------------------------
def _records(data: bytes) -> tuple[list[list[str]], str]:
    text = data.decode("utf-8-sig", errors="replace")
    return list(csv.reader(io.StringIO(text, newline=""))), text


def _write(records: list[list[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\n").writerows(records)
    return buffer.getvalue().encode("utf-8")


def _column(rng: random.Random, records) -> int:
    return rng.randrange(len(records[0])) if records and records[0] else 0


def truncate(data, rng):
    return data[:rng.randrange(1, max(2, len(data) - 1))]


def flip_bytes(data, rng):
    out = bytearray(data)
    for _ in range(rng.randint(1, 12)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def nul_bytes(data, rng):
    i = rng.randrange(len(data))
    return data[:i] + b"\x00" * rng.randint(1, 64) + data[i:]


def utf16(data, rng):
    return data.decode("utf-8", errors="replace").encode("utf-16")


def latin1_with_accents(data, rng):
    # an accented name written in Latin-1 into a UTF-8 file (a user's re-save in Excel)
    records, _ = _records(data)
    if len(records) > 1 and records[1]:
        records[1][_column(rng, records)] = "Côte d'Ivoire Curaçao"
    return _write(records).decode("utf-8").encode("latin-1", errors="replace")


def crlf_and_bom(data, rng):
    return b"\xef\xbb\xbf" + data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def drop_column(data, rng):
    records, _ = _records(data)
    j = _column(rng, records)
    return _write([r[:j] + r[j + 1:] for r in records])


def swap_header_names(data, rng):
    # two header names swapped, values left where they were: values sit under the wrong name
    records, _ = _records(data)
    if records and len(records[0]) > 1:
        i, j = rng.sample(range(len(records[0])), 2)
        records[0][i], records[0][j] = records[0][j], records[0][i]
    return _write(records)


def reorder_columns(data, rng):
    # whole columns moved: a loader that reads by name must not care
    records, _ = _records(data)
    order = list(range(len(records[0]))) if records else []
    rng.shuffle(order)
    return _write([[r[i] if i < len(r) else "" for i in order] for r in records])


def rename_column(data, rng):
    records, _ = _records(data)
    if records and records[0]:
        j = _column(rng, records)
        records[0][j] = records[0][j] + "_renamed"
    return _write(records)


def duplicate_header(data, rng):
    records, _ = _records(data)
    if records and len(records[0]) > 1:
        i, j = rng.sample(range(len(records[0])), 2)
        records[0][j] = records[0][i]
    return _write(records)


def header_moved_down(data, rng):
    records, _ = _records(data)
    junk = [["exported by a spreadsheet"] + [""] * (len(records[0]) - 1) if records else []] * rng.randint(1, 3)
    return _write(junk + records)


def header_at_end(data, rng):
    records, _ = _records(data)
    return _write(records[1:] + records[:1])


def no_header(data, rng):
    records, _ = _records(data)
    return _write(records[1:])


def numbers_to_text(data, rng):
    records, _ = _records(data)
    words = ["twelve", "n/a", "1,2,3", "1e400", "-", "∞", "12..5", "NaN", "0x1F", " "]
    for j in range(len(records[0]) if records else 0):
        for r in records[1:]:
            if j < len(r) and r[j].replace(".", "", 1).replace("-", "", 1).isdigit() and rng.random() < 0.3:
                r[j] = rng.choice(words)
    return _write(records)


def huge_cell(data, rng):
    records, _ = _records(data)
    if len(records) > 1 and records[1]:
        records[rng.randrange(1, len(records))][_column(rng, records)] = "A" * 2_000_000
    return _write(records)


def empty_cells(data, rng):
    records, _ = _records(data)
    for r in records[1:]:
        for j in range(len(r)):
            if rng.random() < 0.5:
                r[j] = ""
    return _write(records)


def blank_column(data, rng):
    records, _ = _records(data)
    j = _column(rng, records)
    for r in records[1:]:
        if j < len(r):
            r[j] = ""
    return _write(records)


def ragged_rows(data, rng):
    records, _ = _records(data)
    for r in rng.sample(records[1:], min(3, max(0, len(records) - 1))):
        r.extend(["extra"] * rng.randint(1, 3))
    return _write(records)


def short_rows(data, rng):
    records, _ = _records(data)
    for r in rng.sample(records[1:], min(3, max(0, len(records) - 1))):
        if len(r) > 1:
            del r[rng.randrange(1, len(r)):]
    return _write(records)


def header_only(data, rng):
    records, _ = _records(data)
    return _write(records[:1])


def formula_cells(data, rng):
    records, _ = _records(data)
    for r in records[1:4]:
        if r:
            r[_column(rng, records)] = "=HYPERLINK(\"http://example.invalid\",\"x\")"
    return _write(records)


#: Mutations for CSV bases (name -> function(bytes, Random) -> bytes).
CSV_MUTATIONS = {f.__name__: f for f in (
    truncate, flip_bytes, nul_bytes, utf16, latin1_with_accents, crlf_and_bom, drop_column, swap_header_names,
    reorder_columns, rename_column, duplicate_header, header_moved_down, header_at_end, no_header, numbers_to_text,
    huge_cell, empty_cells, blank_column, ragged_rows, short_rows, header_only, formula_cells)}
#: Mutations for xlsx bases (byte level: the zip container itself is damaged).
XLSX_MUTATIONS = {f.__name__: f for f in (truncate, flip_bytes, nul_bytes)}


def mutate(case: Case, mutation: str, folder: Path, rng: random.Random, tag: str = "") -> Case:
    table = XLSX_MUTATIONS if case.path.suffix == ".xlsx" else CSV_MUTATIONS
    data = table[mutation](case.path.read_bytes(), rng)
    target = folder / f"{mutation}{tag}_{case.path.name.removeprefix('base_')}"
    target.write_bytes(data)
    # half the cases name the source (as a user who knows the file would), half rely on detection
    source = case.source if rng.random() < 0.5 else None
    return Case(target, source, case.edition, case.base, mutation)


def corpus(real_data: Path, folder: Path, *, seed: int = 0, rounds: int = 1) -> list[Case]:
    """Every mutation of every base, ``rounds`` times with different random choices, plus the fixed cases."""
    rng = random.Random(seed)
    base_cases = bases(real_data, folder / "bases")
    out_folder = folder / "cases"
    out_folder.mkdir(parents=True, exist_ok=True)
    cases = []
    for round_ in range(rounds):
        for base in base_cases:
            table = XLSX_MUTATIONS if base.path.suffix == ".xlsx" else CSV_MUTATIONS
            for mutation in table:
                cases.append(mutate(base, mutation, out_folder, rng, tag=f"{round_}"))
    return cases + fixed_cases(folder / "fixed", rng)


# -- cases without a base ---------------------------------------------------------------------
_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_MAIN}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_MAIN}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_MAIN}.sharedStrings+xml"/></Types>')
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_ROOT_RELS = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')


def zip_bomb(path: Path, inflated_mb: int = 300) -> Path:
    """An xlsx-shaped zip (workbook, one sheet) whose sheet inflates to ``inflated_mb`` MB.

    The sheet is valid SpreadsheetML (one numeric cell repeated), so a reader that loads sheets
    whole would try to hold all of it; on disk it is under a megabyte. Its sheet name is the GSI
    workbook's and its shared strings hold GLOTIP's header names, so both sources' cheap
    detection accepts it and the reader itself is put to the test.
    """
    row = b'<row><c><v>1</v></c><c><v>2</v></c></row>'
    chunk = row * (1 << 14)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/workbook.xml",
                         '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                         '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                         '<sheets><sheet name="GSI 2023 summary data" sheetId="1" r:id="rId1"/></sheets>'
                         '</workbook>')
        archive.writestr("xl/sharedStrings.xml", '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                         '<si><t>Iso3_code</t></si><si><t>txtVALUE</t></si><si><t>Indicator</t></si></sst>')
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            member.write(b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                         b'<sheetData>')
            written = 0
            while written < inflated_mb << 20:
                member.write(chunk)
                written += len(chunk)
            member.write(b"</sheetData></worksheet>")
    return path


def fixed_cases(folder: Path, rng: random.Random) -> list[Case]:
    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "empty.csv"
    empty.write_bytes(b"")
    binary = folder / "random.csv"
    binary.write_bytes(bytes(rng.randrange(256) for _ in range(1 << 16)))
    elf = folder / "program.xlsx"
    elf.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(4096))
    whitespace = folder / "blank_lines.csv"
    whitespace.write_bytes(b"\n\n   \n\t\n")
    bomb = zip_bomb(folder / "bomb.xlsx")
    directory = folder / "a_folder.csv"
    directory.mkdir(exist_ok=True)
    missing = folder / "does_not_exist.csv"
    out = [Case(empty, None, "2020", "", "empty file"), Case(binary, None, "2020", "", "random binary"),
           Case(elf, None, None, "", "executable renamed .xlsx"), Case(whitespace, None, "2020", "", "blank lines"),
           Case(bomb, None, None, "", "zip bomb renamed .xlsx"), Case(bomb, "glotip", None, "", "zip bomb, --source glotip"),
           Case(bomb, "gsi", None, "", "zip bomb, --source gsi"), Case(bomb, "ctdc", "2021", "", "zip bomb, --source ctdc"),
           Case(directory, None, None, "", "a folder"), Case(missing, None, None, "", "missing file")]
    return out


def big_csv(path: Path, template: Path, target_mb: int) -> tuple[Path, int]:
    """A valid CSV of about ``target_mb`` MB: the template's header and records repeated.

    Returns the path and the number of data records written.
    """
    data = template.read_bytes()
    header, _, body = data.partition(b"\n")
    body = body.rstrip(b"\n") + b"\n"
    per_copy = body.count(b"\n")
    copies = max(1, (target_mb << 20) // max(1, len(body)))
    with open(path, "wb") as fh:
        fh.write(header + b"\n")
        for _ in range(copies):
            fh.write(body)
    return path, copies * per_copy


_INGEST_CHILD = """
import sys, time, tiplens
from tiplens.sources import _base
path, db, how = sys.argv[1:4]
if how != "default":  # force one path: streamed always, or whole-file always
    _base.STREAM_FROM_BYTES = 0 if how == "streamed" else 1 << 62
store = tiplens.open_store(db, with_default=False)
started = time.monotonic()
(result,) = tiplens.ingest([path], db=store, edition="2099-01-01")
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(result["rows_read"], result["rows_loaded"], result["rows_quarantined"], round(time.monotonic() - started, 1),
      peak_kb // 1024)
"""


def ingest_in_child(path: Path, db: Path, how: str = "default", timeout: float = 3600) -> dict:
    """Ingest ``path`` in a child process (``how``: ``streamed``, ``whole`` or ``default``, the
    threshold deciding): its size, rows read, seconds and peak RSS in MB.

    The peak is the child's ``VmHWM`` (Linux): ``ru_maxrss`` would start from the parent's peak,
    which Linux carries over into a child through fork and exec. Checks that rows read = loaded +
    quarantined.
    """
    done = subprocess.run([sys.executable, "-c", _INGEST_CHILD, str(path), str(db), how], check=False,
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"ingest of {path.name} ({how}) failed: {done.stderr[-2000:]}")
    # the last line: anything printed before it (a progress bar) is reported by the caller's checks
    read, loaded, quarantined, seconds, peak = done.stdout.strip().splitlines()[-1].split()
    assert int(read) == int(loaded) + int(quarantined), done.stdout
    return {"how": how, "mb": path.stat().st_size / 1e6, "rows": int(read), "seconds": float(seconds),
            "peak_mb": int(peak), "stdout_lines": len(done.stdout.strip().splitlines())}


def describe(row: dict) -> str:
    """One line for a result of :func:`ingest_in_child`."""
    return (f"{row['how']:9} {row['mb']:6.0f} MB {row['rows']:>10,} rows {row['seconds']:7.1f} s "
            f"peak RSS {row['peak_mb']:5} MB")
