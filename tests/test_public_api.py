"""The public API: every exported name resolves, and the heavy parts load only when used."""

from __future__ import annotations

import subprocess
import sys

import tiplens


def test_every_exported_name_resolves():
    for name in tiplens.__all__:
        assert getattr(tiplens, name) is not None, name


def test_import_does_not_load_the_lens_review_or_report():
    code = ("import sys, tiplens; print(','.join(m for m in ('networkx', 'pyfixest', 'tiplens.report', "
            "'tiplens.review', 'tiplens.lens', 'jinja2') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""
