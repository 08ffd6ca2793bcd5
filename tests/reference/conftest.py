"""Fixtures for the reference endpoint tests: real servers on 127.0.0.1, port 0."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance.reference import ReferenceEndpoints


@pytest.fixture(scope="module")
def ref() -> Iterator[ReferenceEndpoints]:
    with ReferenceEndpoints() as endpoints:
        yield endpoints


@pytest.fixture(scope="module")
def base(ref: ReferenceEndpoints) -> str:
    return ref.fhir_base_url
