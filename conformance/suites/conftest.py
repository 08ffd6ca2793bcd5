"""Fixtures shared by the suites (the generic ones come from the conformance pytest plugin).

Each test body runs inside a verdict (conformance/sdk/README.md): a failed `expect` is recorded and the test goes
on. The FHIR client notes what the tests use, for the test that requires it all to be declared.
"""

from __future__ import annotations

import pytest

from conformance.sdk.fhir import matches, search_bundle
from conformance.sdk.fhir_usage import FhirUsage, UsageRecorder
from conformance.sdk.suite_hooks import pytest_runtest_call  # noqa: F401  (the verdict around each test)

SUITE_MARKERS = (
    "runs_last: run after every other selected test (it judges what they used)",
    "fhir_probe: the test sends deliberately invalid FHIR requests: not counted as capabilities used",
)


def pytest_configure(config: pytest.Config) -> None:
    for marker in SUITE_MARKERS:
        config.addinivalue_line("markers", marker)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    last = [item for item in items if item.get_closest_marker("runs_last")]
    if last:
        items[:] = [item for item in items if item not in last] + last


@pytest.fixture(scope="session")
def fhir_usage() -> FhirUsage:
    """The interactions and search parameters the tests of this run used."""
    return FhirUsage()


@pytest.fixture(scope="session")
def fhir_client(fhir_client, fhir_usage):
    """The plugin's FHIR client, noting what the tests use of the server."""
    return UsageRecorder(fhir_client, fhir_usage)


@pytest.fixture(autouse=True)
def _count_fhir_usage(request: pytest.FixtureRequest, fhir_usage: FhirUsage):
    fhir_usage.counting = request.node.get_closest_marker("fhir_probe") is None
    yield
    fhir_usage.counting = True


def _skip(lang: str, fr: str, en: str) -> None:
    pytest.skip(fr if lang == "fr" else en)


@pytest.fixture(scope="session")
def qualified_patients(test_data, lang):
    """The configured test-INS identities (qualified: INS and status VALI)."""
    patients = [p for p in test_data.patients if p.qualified and p.ins]
    if not patients:
        _skip(
            lang,
            "aucun patient de test qualifié dans [test_data] patients",
            "no qualified test patient in [test_data] patients",
        )
    return patients


@pytest.fixture(scope="session")
def unqualified_patients(test_data, lang):
    patients = [p for p in test_data.patients if not p.qualified]
    if not patients:
        _skip(
            lang,
            "aucun patient non qualifié dans [test_data] patients",
            "no unqualified patient in [test_data] patients",
        )
    return patients


@pytest.fixture(scope="session")
def any_patient_id(fhir_client, test_data) -> str:
    """The id of one Patient on the server: a configured one, else the first search match."""
    for patient in test_data.patients:
        if patient.id:
            return patient.id
    bundle = search_bundle(fhir_client.search("Patient", {"_count": "1"}))
    found = matches(bundle, "Patient")
    if not found:
        pytest.fail("no Patient on the server to read")
    return found[0]["id"]
