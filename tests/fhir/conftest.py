"""Fixtures for the FHIR validator tests: the real packages (FR Core 2.2.0 + R4 core), loaded once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.settings import fhir_cache_dir


@pytest.fixture(scope="session")
def fhir_context() -> Any:
    from conformance.packages import load_context

    return load_context()


@pytest.fixture(scope="session")
def validator(fhir_context: Any) -> Any:
    from conformance.validation.fhir import get_validator

    return get_validator(fhir_context)


@pytest.fixture(scope="session")
def r4_examples_dir() -> Path:
    path = fhir_cache_dir() / "hl7.fhir.r4.examples#4.0.1" / "package"
    if not path.is_dir():
        pytest.skip("hl7.fhir.r4.examples#4.0.1 is not installed: run `make fhir-packages`")
    return path


@pytest.fixture(scope="session")
def fr_core_dir() -> Path:
    path = fhir_cache_dir() / "hl7.fhir.fr.core#2.2.0" / "package"
    if not path.is_dir():
        pytest.skip("hl7.fhir.fr.core#2.2.0 is not installed: run `make fhir-packages`")
    return path
