"""Fixtures shared by the project's own tests. Reference data comes from ../shared (HOPEN_SHARED_DIR)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from conformance import settings
from conformance.reference import ReferenceEndpoints


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = settings.shared_dir()
    if not path.is_dir():
        pytest.fail(f"reference data not found at {path}: set HOPEN_SHARED_DIR")
    return path


@pytest.fixture(scope="session")
def fhir_packages_dir(shared_dir: Path) -> Path:
    return shared_dir / "fhir-packages"


@pytest.fixture(scope="session")
def cda_pack(shared_dir: Path) -> Path:
    return settings.cda_pack_dir()


@pytest.fixture(scope="session")
def hl7v2_samples(shared_dir: Path) -> Path:
    return settings.hl7v2_samples_dir()


@pytest.fixture
def hostile() -> Iterator[Callable[..., ReferenceEndpoints]]:
    """hostile(mode, **options) -> started ReferenceEndpoints in that hostile mode, stopped after the test."""
    with ExitStack() as stack:

        def start(mode: str | None, **options) -> ReferenceEndpoints:
            return stack.enter_context(ReferenceEndpoints(hostile=mode, **options))

        yield start
