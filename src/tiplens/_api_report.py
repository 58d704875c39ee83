"""Library twin of `tiplens report`: the whole analysis as one self-contained HTML file (or PDF)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import TiplensError


def report(db=None, out: str | os.PathLike = "tiplens-report.html", *, pdf: bool = False,
           sections: list[str] | None = None, year_from: int | None = None, year_to: int | None = None,
           periods: str | None = None, panel: str | list[str] = "all", generated_at: str | None = None,
           boundaries: str | os.PathLike | None = None) -> dict:
    """Write the report and describe what was written.

    Parameters
    ----------
    db : path, Store or None
        The store (default: ``$TIPLENS_DB`` or the user data directory).
    out : path
        Output file. ``.html`` (default) or, with ``pdf=True``, ``.pdf`` (a ``.html`` name gets
        ``.pdf`` instead; the HTML is written beside it too).
    pdf : bool
        Print the document to PDF through headless Chromium.
    sections : list of str, optional
        Section ids to include (default all; see :func:`tiplens.report.build.section_ids`).
    year_from, year_to : int, optional
        Window of the trend figures.
    periods : str, optional
        Periods of the pandemic comparison, e.g. ``"pre=2017-2019,pandemic=2020-2021,post=2022-"``.
    panel : "all", "balanced" or a file of ISO3 codes
        Panel of the breakdown figures (the world series is always shown on all reporters and on the
        balanced panel; a file adds that named panel).
    generated_at : str, optional
        The generation time written in the document (default: now, UTC); fixed in snapshot tests.
    boundaries : path, optional
        Another SVG world map with ``<g class="xx country">`` groups keyed by ISO2 (default: the
        outlines packaged in ``pygal_maps_world``; see :mod:`tiplens.report.maps`).

    Returns
    -------
    dict
        ``path`` (the file written: the PDF with ``pdf=True``), ``html`` (the HTML file), ``size``
        (bytes of ``path``), ``sections`` (ids in order), ``figures`` (figures drawn), ``tables``
        (table-only views), ``empty`` (ids of the views without data, with the reason).
    """
    from .api import _panel_choice, using_store
    from .report import build

    out = Path(out)
    if not out.parent.exists():
        raise TiplensError(f"{out}: folder {out.parent} does not exist; create it or choose another path")
    suffix = out.suffix.lower()
    if pdf:
        pdf_path = out if suffix == ".pdf" else out.with_suffix(".pdf")
        html_path = pdf_path.with_suffix(".html")
    else:
        if suffix not in (".html", ".htm"):
            raise TiplensError(f"{out}: the report is written as .html (or .pdf with --pdf)")
        html_path, pdf_path = out, None
    options = build.check_options(build.ReportOptions(
        year_from=year_from, year_to=year_to, periods=periods, panel=_panel_choice(panel),
        sections=list(sections) if sections else None,
        boundaries_path=str(boundaries) if boundaries else None))
    with using_store(db, read_only=True) as store:
        data = build.ReportData.from_store(store, sections=options.sections)
    sections_built = build.build_sections(data, options)
    from ._version import __version__
    text = build.render_html(sections_built, generated_at=generated_at or build.now_text(), options=options,
                             version=__version__)
    build.write_atomic(html_path, text.encode("utf-8"))
    if pdf_path is not None:
        build.print_pdf(html_path, pdf_path)
    written = pdf_path or html_path
    views = [v for s in sections_built for v in s.views]
    return {"path": str(written), "html": str(html_path), "size": written.stat().st_size,
            "sections": [s.id for s in sections_built],
            "figures": sum(1 for v in views if (v.figure is not None or v.svg) and not v.empty),
            "tables": sum(1 for v in views if v.figure is None and not v.svg and not v.empty),
            "empty": [{"id": v.id, "reason": v.empty_reason} for v in views if v.empty]}
