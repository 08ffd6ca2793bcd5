"""ITI-66 Find Document Lists (SubmissionSets)."""

from __future__ import annotations

import pytest

from conformance.campaign.checks import expect, expect_valid
from conformance.campaign.fhir import (
    PROFILE_SUBMISSIONSET,
    SUBMISSIONSET_CODE,
    matches,
    provided_by_harness,
    search_bundle,
)

ITI66 = ("ANS PDSm 3.1.1 / IHE MHD ITI-66", "§2:3.66 Find Document Lists")


@pytest.mark.requirement(*ITI66, text="List?patient=&code=submissionset returns SubmissionSets conforming to PDSm")
@pytest.mark.capability("documents.pdsm.submissionset")
@pytest.mark.title_en("ITI-66: the patient's SubmissionSets are found and conform to PDSm")
def test_find_submission_sets(fhir_client, fhir_validator, document_patient_id, evidence, lang):
    """ITI-66 : les lots de soumission du patient sont trouvés et conformes à PDSm"""
    bundle = search_bundle(
        fhir_client.search("List", {"patient": f"Patient/{document_patient_id}", "code": SUBMISSIONSET_CODE})
    )
    lists = [item for item in matches(bundle, "List") if not provided_by_harness(item)]
    expect(
        lists,
        "iti66-none",
        f"aucun SubmissionSet pour Patient/{document_patient_id}",
        f"no SubmissionSet for Patient/{document_patient_id}",
    )
    outcomes = []
    for item in lists:
        outcome = fhir_validator.validate(item, profiles=[PROFILE_SUBMISSIONSET], lang=lang)
        outcome.subject = f"List/{item.get('id')}"
        evidence.outcome(f"validation-list-{item.get('id')}.json", outcome)
        outcomes.append(outcome)
    expect_valid(outcomes)
