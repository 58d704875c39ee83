"""The report's section on case-level victim records, shown only after disclosure control.

The loader reads the records' needed columns through the one reader of sensitive tables and
releases every declared table at once at the default k (:mod:`tiplens._api_privacy`, the same
release the command line and the dashboard show). Nothing of the records reaches the section
but the :class:`~tiplens.disclosure.Published` tables.

Every release is recorded in the store's privacy ledger before it is shown. The report reads its
store read-only, so when the loader could not write, the section appends the ledger rows once the
report's store is closed (a short write); if that fails, the section shows no table and says why.
Importing this module registers the section (after "literature").
"""

from __future__ import annotations

from ..errors import TiplensError
from .build import ReportData, ReportOptions, Section, register_loader, register_section
from .views import View

SECTION_ID = "victims"
TITLE = "Case-level victim records (disclosure-controlled)"


def _load_victims(store) -> dict:
    from .._api_privacy import read_victim_records, record_ledger
    try:
        release = read_victim_records(store).release()
    except TiplensError as exc:  # e.g. two CTDC datasets in one store: say which to choose
        return {"error": str(exc)}
    if release.tables and not getattr(store, "read_only", False):
        record_ledger(store, release)
    return {"release": release, "db": store.path}


register_loader(SECTION_ID, _load_victims, section=SECTION_ID)


def _ensure_recorded(loaded: dict) -> str | None:
    """Record the release in the ledger if the loader could not; the reason when that fails."""
    from .._api_privacy import record_ledger_at
    release = loaded["release"]
    if release.recorded or not release.tables:
        return None
    try:
        record_ledger_at(loaded["db"], release)
    except TiplensError as exc:
        return (f"the release could not be recorded in the privacy ledger, so it is not shown ({exc}). "
                "Regenerate the report when no other tiplens process is writing to the store (a program that "
                "passes an open read-only store must open it for writing instead).")
    return None


def table_view(release, name: str) -> View:
    """One declared table after disclosure control, with the marker where a value is suppressed."""
    from .._api_privacy import LEGEND, SOURCE, caveat, suppression_counts, wide_table
    pub = release.tables[name]
    counts = suppression_counts(pub)
    return View(id=f"victims-{name}", title=pub.title, table=wide_table(pub), source=SOURCE,
                edition=release.provenance(), countries=release.countries_text(),
                caption=(f"{counts['published']} of {counts['values']} values published; {counts['suppressed']} "
                         f"suppressed ({counts['primary']} below k = {release.k}, {counts['primary_zero']} zero "
                         f"cells, {counts['secondary']} complementary). {LEGEND}"),
                caveat=caveat(), notes=list(pub.notes))


def ledger_view(release) -> View:
    """What this release suppressed, by table and rule (never the values)."""
    from .._api_privacy import SOURCE, ledger_summary
    # no release id or time: the same store gives the same document (the ledger has both)
    summary = ledger_summary(release.ledger()).drop(columns=["release_id", "released_at"])
    return View(id="victims-ledger", title="Privacy ledger of this release", table=summary, source=SOURCE,
                edition=release.provenance(), countries=release.countries_text(),
                caption=("Per table, the values published and suppressed and how many were suppressed by each "
                         "rule. This release was recorded in the store's privacy ledger when the report was "
                         "generated; `tiplens privacy-ledger` lists every release from this store."),
                caveat="The ledger records where values were suppressed and why, never the suppressed values.")


def victims_section(data: ReportData, options: ReportOptions) -> Section:
    from .._api_privacy import NO_RECORDS
    intro = ("Case-level victim records (CTDC) are published only as declared two-way tables, after disclosure "
             "control: counts below k are suppressed, with complementary suppression so that none can be recovered "
             "from the totals, and every release is recorded in the store's privacy ledger.")
    loaded = data.loaded(SECTION_ID)
    if loaded is None:
        return Section(SECTION_ID, TITLE, intro=intro, paragraphs=[NO_RECORDS])
    if "error" in loaded:
        return Section(SECTION_ID, TITLE, intro=intro, paragraphs=[loaded["error"]])
    release = loaded["release"]
    if not release.tables:
        return Section(SECTION_ID, TITLE, intro=intro, paragraphs=[release.message or NO_RECORDS])
    problem = _ensure_recorded(loaded)
    if problem is not None:
        return Section(SECTION_ID, TITLE, intro=intro, paragraphs=[problem])
    views = [table_view(release, name) for name in release.tables]
    views.append(ledger_view(release))
    return Section(SECTION_ID, TITLE, intro=intro, views=views,
                   paragraphs=[f"Records: {release.provenance()}; k = {release.k}."])


register_section(SECTION_ID, TITLE, victims_section, after="literature")
