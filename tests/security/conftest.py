"""Secrets, TLS and run integrity across whole runs (issue 8 items 3-5)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "hostile"))

from conformance.reference import ReferenceEndpoints


@pytest.fixture
def hostile() -> Iterator[Callable[..., ReferenceEndpoints]]:
    """hostile(mode, **options) -> started ReferenceEndpoints in that hostile mode, stopped after the test."""
    with ExitStack() as stack:

        def start(mode: str | None, **options) -> ReferenceEndpoints:
            return stack.enter_context(ReferenceEndpoints(hostile=mode, **options))

        yield start
