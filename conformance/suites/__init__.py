"""Conformance suites: one sub-package per capability family, discovered from this package itself.

Run by `conformance run` or `pytest --pyargs conformance.suites --conformance-config FILE`. A suite is a
sub-package holding `test_*.py` modules; its name is the folder's with `-` for `_` (`fhir_basics` ->
`fhir-basics`). Adding a suite is adding a folder: nothing else lists them.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path


def suites_dir() -> Path:
    """The folder of the suites, inside the installed package."""
    return Path(str(resources.files(__name__)))


def suite_names() -> tuple[str, ...]:
    """The suites shipped in the package, in collection order."""
    entries = sorted(resources.files(__name__).iterdir(), key=lambda e: e.name)
    return tuple(entry.name.replace("_", "-") for entry in entries if _is_suite(entry))


def _is_suite(entry: Traversable) -> bool:
    if not entry.is_dir() or not entry.joinpath("__init__.py").is_file():
        return False
    return any(child.name.startswith("test_") and child.name.endswith(".py") for child in entry.iterdir())
