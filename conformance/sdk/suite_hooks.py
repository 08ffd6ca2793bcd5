"""The pytest side of the SDK, for the suites' conftest: each test's body runs inside a verdict, and the
requirement a test names is resolved in the catalogue.

    # conformance/suites/conftest.py
    from conformance.sdk.suite_hooks import pytest_runtest_call  # noqa: F401  (a verdict around each test)
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TypeVar

import pytest

from conformance.results import Requirement as ResultRequirement
from conformance.sdk.checks import verdict
from conformance.sdk.requirements import CatalogueError, requirement

REQUIREMENT_MARKER = "requirement"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Every `expect` of the test body records its finding; the test fails at its end with all of them."""
    with verdict():
        return (yield)


def requirement_ids(item: pytest.Item) -> list[str]:
    """The catalogue ids a test names (`@pytest.mark.requirement("fhir-r4.read.id")`)."""
    ids: list[str] = []
    for marker in item.iter_markers(REQUIREMENT_MARKER):
        if len(marker.args) == 1 and not marker.kwargs:
            ids.append(str(marker.args[0]))
    return ids


def result_requirement(requirement_id: str) -> ResultRequirement:
    """The catalogue entry as the result model carries it (into results.json and the reports)."""
    try:
        entry = requirement(requirement_id)
    except CatalogueError:
        return ResultRequirement(specification="", section="", id=requirement_id)
    return ResultRequirement(
        specification=entry.specification,
        section=entry.section,
        text=entry.statement_fr,
        id=entry.id,
        strength=entry.strength.value,
        version=entry.version,
        text_en=entry.statement_en,
    )


_Test = TypeVar("_Test", bound=Callable[..., object])


def verifies(requirement_id: str, *capabilities: str, title_en: str) -> Callable[[_Test], _Test]:
    """A conformance test's markers in one line: the requirement it verifies, the capabilities it covers and
    its English title (the French one is the docstring's first line).

        @verifies("pam.ack.accepted", "movements.pam.receive", "movements.pam.ack", title_en="A01 accepted")
    """

    def mark(test: _Test) -> _Test:
        for marker in (pytest.mark.requirement(requirement_id), pytest.mark.capability(*capabilities),
                       pytest.mark.title_en(title_en)):  # fmt: skip
            test = marker(test)
        return test

    return mark
