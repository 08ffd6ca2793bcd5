"""CDA test helpers: the ANS examples, per-session validated outcomes, document mutations."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from lxml import etree

from conformance import settings
from conformance.findings import Outcome
from conformance.validation.cda import validate_document

V3 = "urn:hl7-org:v3"
NS = {"cda": V3}


def examples_dir() -> Path:
    return settings.cda_pack_dir() / "ExemplesCDA"


def example_bytes(name: str) -> bytes:
    return (examples_dir() / name).read_bytes()


@functools.lru_cache(maxsize=64)
def validated(name: str) -> Outcome:
    """Each example validated once per worker process (schematron compiles are the expensive part)."""
    return validate_document(example_bytes(name), name=name)


def mutate(name: str, change) -> bytes:
    """Parse an example, let `change(root)` edit the tree, serialise it back."""
    root = etree.fromstring(example_bytes(name))
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.fixture(scope="session")
def examples(cda_pack: Path) -> Path:
    path = cda_pack / "ExemplesCDA"
    if not path.is_dir():
        pytest.fail(f"CDA examples not found at {path}: set HOPEN_CDA_PACK or HOPEN_SHARED_DIR")
    return path
