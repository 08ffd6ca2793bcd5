"""What the reference FHIR server holds: the shared test data, plus the resources that let a campaign tell a
conformant server from a faulty one where one resource would not (an earlier, superseded version of the
document, so that `status=current` has something to filter out; a second practitioner with a role, so that a
role search that ignores its practitioner shows)."""

from __future__ import annotations

import copy

from conformance.identifiers import IDNPS_SYSTEM, RPPS_SYSTEM
from conformance.reference.fhir_store import Resource
from conformance.reference.test_data import TestData

SUPERSEDED_SUFFIX = "-v0"
OTHER_PRACTITIONER_ID = "autre-praticien"
OTHER_RPPS = "10000000017"  # fictitious


def reference_resources(test_data: TestData) -> list[Resource]:
    resources = [copy.deepcopy(r) for r in test_data.resources.values()]
    resources += [_superseded(test_data, d.document_reference_id) for d in test_data.documents[:1]]
    resources += _other_practitioner(test_data)
    return resources


def _superseded(test_data: TestData, doc_id: str) -> Resource:
    """The document's earlier version: same patient and content, status superseded, another identity."""
    doc = copy.deepcopy(test_data.resources[f"DocumentReference/{doc_id}"])
    doc["id"] = f"{doc_id}{SUPERSEDED_SUFFIX}"
    doc["status"] = "superseded"
    doc["masterIdentifier"] = {**doc["masterIdentifier"], "value": doc["masterIdentifier"]["value"] + ".0"}
    doc["identifier"] = [{**i, "value": f"urn:uuid:{doc['id']}"} for i in doc.get("identifier", [])]
    doc["date"] = "2019-10-28T09:00:00+01:00"
    return doc


def _other_practitioner(test_data: TestData) -> list[Resource]:
    practitioner = copy.deepcopy(test_data.resources[f"Practitioner/{test_data.practitioner_id}"])
    role = copy.deepcopy(test_data.resources[f"PractitionerRole/{test_data.practitioner_role_id}"])
    practitioner["id"] = OTHER_PRACTITIONER_ID
    for identifier in practitioner.get("identifier", []):
        if identifier.get("system") == RPPS_SYSTEM:
            identifier["value"] = OTHER_RPPS
        elif identifier.get("system") == IDNPS_SYSTEM:
            identifier["value"] = f"8{OTHER_RPPS}"
    role["id"] = f"role-{OTHER_PRACTITIONER_ID}"
    role["practitioner"] = {"reference": f"Practitioner/{OTHER_PRACTITIONER_ID}"}
    role["identifier"] = [{**i, "value": f"{i['value']}-2"} for i in role.get("identifier", [])]
    return [practitioner, role]
