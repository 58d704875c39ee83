"""The dashboard's /victims page: case-level victim records, only as disclosure-controlled tables.

At load the dashboard reads the columns the declared tables need (:func:`tiplens._api_privacy.
read_victim_records`) and keeps them in :class:`VictimReleases`, which hands out nothing but
releases: every declared table released together at the chosen k, nested in the default release
(so that pages at different k, side by side, recover nothing) and recorded in the store's privacy
ledger *before* it is shown. A release is made once per (k, zero cells) and loaded data; every
table, chart and download of the page comes from it. A store that another process is writing
when a new release must be recorded gives 503 and shows nothing.

Filters: ``table`` (a declared table), ``k`` (10 or a listed higher value; a number below 10 is
refused with 400 and the reason) and ``zeros`` (``shown`` or ``suppressed``).
"""

from __future__ import annotations

import threading

import pandas as pd

from ..disclosure import DECLARED_TABLES, DEFAULT_K
from ..errors import TiplensError
from ..report.views import View

#: The k a visitor can choose: the default and stricter thresholds only.
K_CHOICES = (DEFAULT_K, 15, 20, 25, 30, 50, 100)
#: Seconds a new release waits for a store that another process is writing (then 503).
LEDGER_TIMEOUT = 2.0


class VictimReleases:
    """The records read at load, behind the one door of the disclosure step (see the module doc)."""

    def __init__(self, records, db):
        self._records = records
        self._db = db
        self._releases: dict[tuple[int, bool], object] = {}
        self._lock = threading.Lock()

    @property
    def message(self) -> str | None:
        """Why there is nothing to publish (no records loaded), else None."""
        return self._records.message

    def release(self, k: int, suppress_zeros: bool):
        """Every declared table at ``k``, recorded in the ledger on first use (then kept)."""
        from .._api_privacy import record_ledger_at
        key = (int(k), bool(suppress_zeros))
        with self._lock:
            if key not in self._releases:
                release = self._records.release(k=key[0], suppress_zeros=key[1])
                if release.tables:
                    record_ledger_at(self._db, release, timeout=LEDGER_TIMEOUT)  # StoreBusyError: 503
                self._releases[key] = release
            return self._releases[key]


def read(store, db) -> VictimReleases:
    """What the page needs from the store (called while the dashboard's load holds it open)."""
    from .._api_privacy import VictimRecords, read_victim_records
    try:
        records = read_victim_records(store)
    except TiplensError as exc:  # several CTDC datasets: the page says so
        records = VictimRecords(records=pd.DataFrame(), message=str(exc))
    return VictimReleases(records, db)


def _k(filters) -> int:
    raw = filters.params.get("k")
    if raw is not None and raw.strip().isdigit() and int(raw) < DEFAULT_K:
        raise TiplensError(f"k={int(raw)} is below {DEFAULT_K}: tiplens never publishes counts of fewer than "
                           f"{DEFAULT_K} victim records. Choose k={DEFAULT_K} or one of the higher values.")
    return int(filters.choice("k", "Threshold k", [(str(v), str(v)) for v in K_CHOICES], str(DEFAULT_K),
                              "Counts from 1 to k-1 are suppressed; 10 is the least tiplens allows."))


def victims_page(data, filters):
    from .._api_privacy import LEGEND, SOURCE, caveat
    from ..report.victims import ledger_view, table_view
    from .pages import Page
    page = Page("/victims", "Victim records", "Case-level victim records (CTDC), published only as declared tables "
                "after disclosure control: counts below k are suppressed, with complementary suppression so that "
                "none can be recovered from the totals. Every release is recorded in the privacy ledger.")
    name = filters.choice("table", "Table", [(n, t.title) for n, t in DECLARED_TABLES.items()],
                          "victims_by_year_sex")
    k = _k(filters)
    zeros = filters.choice("zeros", "Zero cells", [("shown", "Shown as 0"), ("suppressed", "Suppressed too")],
                           "shown")
    filters.check_names()
    page.controls = filters.controls
    source = data.victims
    if source is None or source.message is not None:
        reason = source.message if source is not None else "case-level records were not read at load"
        page.views.append(View(id="victims-table", title=DECLARED_TABLES[name].title, source=SOURCE,
                               caveat=caveat(), empty_reason=reason.replace("then run", "then reload the dashboard "
                                                                           "after running")))
        return page
    release = source.release(k, zeros == "suppressed")
    page.stats = [("Records", release.provenance()), ("k", str(release.k)), ("Release", release.release_id or "")]
    page.notes = [LEGEND]
    page.views.append(chart_view(release, name))
    page.views.append(table_view(release, name))
    page.views.append(ledger_view(release))
    return page


def chart_view(release, name: str) -> View:
    """Grouped bars of the published cells of one table; a suppressed cell has no bar (it is not drawn as
    zero) and its label carries the marker."""
    from .._api_privacy import MARKER, SOURCE, caveat
    pub = release.tables[name]
    cells = pub.table[pub.table["cell"].eq("cell")]
    traces = []
    for column, part in cells.groupby("column", sort=False):
        traces.append({"type": "bar", "name": str(column), "x": [str(r) for r in part["row"]],
                       "y": [None if s else int(n) for n, s in zip(part["count"], part["suppressed"])],
                       "text": [MARKER if s else f"{int(n):,}" for n, s in zip(part["count"], part["suppressed"])],
                       "hovertemplate": "%{x}, " + str(column) + ": %{text}<extra></extra>"})
    figure = {"data": traces,
              "layout": {"barmode": "group", "height": 460, "title": {"text": pub.title},
                         "margin": {"l": 70, "r": 20, "t": 60, "b": 80}, "paper_bgcolor": "white",
                         "plot_bgcolor": "white", "legend": {"orientation": "h", "y": -0.2},
                         "yaxis": {"title": {"text": "victim records"}, "rangemode": "tozero",
                                   "gridcolor": "#e5e5e5"}}}
    hidden = int(cells["suppressed"].sum())
    return View(id=f"victims-{name}-chart", title=f"{pub.title} (chart)", figure=figure,
                table=pub.table.assign(table=name, k=release.k, release_id=pub.release_id), source=SOURCE,
                edition=release.provenance(), countries=release.countries_text(),
                caption=(f"Published cells of {name} at k = {release.k}; the {hidden} suppressed cells have no bar "
                         f"(hover shows {MARKER}). The download holds every published value, its total type and "
                         "why a value is suppressed."),
                caveat=caveat())
