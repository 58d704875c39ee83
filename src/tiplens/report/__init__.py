"""The report: the seed paper's analysis regenerated as one self-contained HTML document.

:mod:`tiplens.report.views` holds the figure-and-table functions that the report and the dashboard
share; :mod:`tiplens.report.build` assembles the sections and writes the document.
"""
