"""Fixtures shared by the suites (the generic ones come from the conformance pytest plugin)."""

from __future__ import annotations

import pytest

from conformance.campaign.fhir import PROFILE_PATIENT, matches, search_bundle


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


__all__ = ["PROFILE_PATIENT"]

# a verdict around each test body: a failed expect is recorded and the test goes on
from conformance.sdk.suite_hooks import pytest_runtest_call  # noqa: E402, F401
