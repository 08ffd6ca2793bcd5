"""ITI-66 Find Document Lists (SubmissionSets)."""

from __future__ import annotations

import pytest

from conformance.sdk import expect, expect_valid, resource, verifies
from conformance.sdk.fhir import PROFILE_SUBMISSIONSET, SUBMISSIONSET_CODE, matches, provided_by_harness, search_bundle
from conformance.suites.documents.rules import ITI66_NONE, ITI66_OTHER_PATIENT


@pytest.fixture(scope="module")
def submission_sets(fhir_client, document_patient_id) -> list[dict]:
    bundle = search_bundle(
        fhir_client.search("List", {"patient": f"Patient/{document_patient_id}", "code": SUBMISSIONSET_CODE})
    )
    return [item for item in matches(bundle, "List") if not provided_by_harness(item)]


@verifies("pdsm.iti66.find", "documents.pdsm.submissionset", title_en="ITI-66: the patient's SubmissionSets are found")
def test_find_submission_sets(submission_sets, document_patient_id):
    """ITI-66 : les lots de soumission du patient sont trouvés"""
    patient = f"Patient/{document_patient_id}"
    expect(submission_sets, ITI66_NONE, "List", patient=patient)
    for item in submission_sets:  # a server that ignores `patient` returns every patient's lists
        with resource("List", item.get("id")):
            subject = str((item.get("subject") or {}).get("reference") or "(absent)")
            belongs = subject == patient or subject.endswith(f"/{patient}")
            expect(belongs, ITI66_OTHER_PATIENT, "List.subject", patient=patient, subject=subject)


@verifies("pdsm.iti66.profile", "documents.pdsm.submissionset", title_en="ITI-66: the SubmissionSets conform to PDSm")
def test_submission_sets_conform(submission_sets, fhir_validator, evidence, lang):
    """ITI-66 : les lots de soumission sont conformes à PDSm"""
    if not submission_sets:
        pytest.skip("aucun SubmissionSet à valider" if lang == "fr" else "no SubmissionSet to validate")
    for item in submission_sets:
        outcome = fhir_validator.validate(item, profiles=[PROFILE_SUBMISSIONSET], lang=lang)
        outcome.subject = f"List/{item.get('id')}"
        evidence.outcome(f"validation-list-{item.get('id')}.json", outcome)
        expect_valid(outcome)
