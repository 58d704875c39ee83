"""Source modules and their registry.

Every public module in this package (a name without a leading underscore) is a source with the
surface described in :mod:`tiplens.sources._base`. ``SOURCES`` maps each ``NAME`` to its module.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

from ..errors import InputFileError, TiplensError
from ._base import Normalised, Raw, check_file

__all__ = ["SOURCES", "get_source", "detect_source", "Raw", "Normalised"]


def _discover() -> dict[str, ModuleType]:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[module.NAME] = module
    return found


SOURCES: dict[str, ModuleType] = _discover()


def get_source(name: str) -> ModuleType:
    try:
        return SOURCES[name]
    except KeyError:
        raise TiplensError(f"unknown source {name!r}; choose one of: {', '.join(sorted(SOURCES))}") from None


def detect_source(path: Path) -> ModuleType:
    """The one source whose ``detect`` accepts the file's content."""
    path = check_file(Path(path))
    hits = [module for module in SOURCES.values() if module.detect(path)]
    if not hits:
        raise InputFileError(path, "not recognised as any known source (its header or layout matches none)",
                             f"Pass --source NAME if you know what it is (one of {', '.join(sorted(SOURCES))}), "
                             "or check that the file is complete")
    if len(hits) > 1:
        raise InputFileError(path, f"matches several sources ({', '.join(m.NAME for m in hits)})",
                             "Pass --source NAME to choose one")
    return hits[0]
