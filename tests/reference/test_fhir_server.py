"""The reference FHIR server over real HTTP on loopback: each REST behaviour the campaign relies on."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import uuid

from lxml import etree

from conformance.validation.fhir import get_validator
from conformance.validation.fhir.xml import resource_to_xml, xml_to_json

from .helpers import http

INS_TEST = "urn:oid:1.2.250.1.213.1.4.10"
INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"


# ------------------------------------------------------------------------------------------- capabilities


def test_metadata_is_an_r4_capability_statement_declaring_the_french_guides(base: str) -> None:
    reply = http(f"{base}/metadata")
    assert reply.status == 200
    assert reply.content_type.startswith("application/fhir+json")
    cs = reply.json
    assert cs["resourceType"] == "CapabilityStatement"
    assert cs["fhirVersion"] == "4.0.1"
    assert any("PDSm-GestionnaireDePartageDeDocuments" in url for url in cs["instantiates"])
    rest = cs["rest"][0]
    assert {"transaction"} <= {i["code"] for i in rest["interaction"]}
    by_type = {r["type"]: r for r in rest["resource"]}
    for rtype in ("Patient", "Practitioner", "PractitionerRole", "Organization", "DocumentReference", "List", "Binary"):
        assert "read" in {i["code"] for i in by_type[rtype]["interaction"]}
    assert "search-type" in {i["code"] for i in by_type["DocumentReference"]["interaction"]}
    assert "patch" in {i["code"] for i in by_type["DocumentReference"]["interaction"]}
    assert any("fr-core-patient-ins" in p for p in by_type["Patient"]["supportedProfile"])
    assert {"identifier", "family", "given", "birthdate", "gender"} <= {
        p["name"] for p in by_type["Patient"]["searchParam"]
    }


# ------------------------------------------------------------------------------------------- read


def test_read_carries_etag_and_if_none_match_gives_304(base: str) -> None:
    reply = http(f"{base}/Patient/pat-trois")
    assert reply.status == 200 and reply.json["id"] == "pat-trois"
    etag = reply.headers["etag"]
    assert etag == f'W/"{reply.json["meta"]["versionId"]}"'
    assert "last-modified" in reply.headers
    assert http(f"{base}/Patient/pat-trois", headers={"If-None-Match": etag}).status == 304
    assert http(f"{base}/Patient/pat-trois", headers={"If-None-Match": 'W/"999"'}).status == 200


def test_vread_returns_the_requested_version_and_404_for_an_unknown_one(base: str) -> None:
    assert http(f"{base}/Patient/pat-durand/_history/1").json["meta"]["versionId"] == "1"
    reply = http(f"{base}/Patient/pat-durand/_history/42")
    assert reply.status == 404 and reply.json["resourceType"] == "OperationOutcome"


def test_errors_are_operation_outcomes(base: str) -> None:
    for url, status in (
        (f"{base}/Patient/unknown-id", 404),
        (f"{base}/Unicorn/1", 404),
        (f"{base}/Patient?birthdate=notadate", 400),
    ):
        reply = http(url)
        assert reply.status == status, url
        assert reply.content_type.startswith("application/fhir+json")
        assert reply.json["resourceType"] == "OperationOutcome"
        assert reply.json["issue"][0]["severity"] == "error"


# ------------------------------------------------------------------------------------------- formats


def test_xml_by_format_parameter_and_by_accept(base: str) -> None:
    for reply in (
        http(f"{base}/Patient/pat-trois?_format=xml"),
        http(f"{base}/Patient/pat-trois", headers={"Accept": "application/fhir+xml"}),
    ):
        assert reply.status == 200
        assert reply.content_type.startswith("application/fhir+xml")
        root = etree.fromstring(reply.body)
        assert root.tag == "{http://hl7.org/fhir}Patient"
        assert root.find("{http://hl7.org/fhir}id").get("value") == "pat-trois"
        # url is an attribute of extensions, value an attribute of primitives
        assert root.find("{http://hl7.org/fhir}extension").get("url")
        assert root.find("{http://hl7.org/fhir}birthDate").get("value") == "1979-03-28"


def test_format_parameter_overrides_accept_and_unsupported_media_type_is_406(base: str) -> None:
    reply = http(f"{base}/Patient/pat-trois?_format=json", headers={"Accept": "application/fhir+xml"})
    assert reply.content_type.startswith("application/fhir+json")
    refused = http(f"{base}/Patient/pat-trois", headers={"Accept": "text/html"})
    assert refused.status == 406 and refused.json["resourceType"] == "OperationOutcome"
    assert http(f"{base}/Patient/pat-trois", headers={"Accept": "application/fhir+json; fhirVersion=3.0"}).status == 406


def test_xml_error_when_xml_was_asked(base: str) -> None:
    reply = http(f"{base}/Patient/unknown?_format=xml")
    assert reply.status == 404
    assert etree.fromstring(reply.body).tag == "{http://hl7.org/fhir}OperationOutcome"


def _without_null_lists(value):
    """`line: [null]` + `_line: [{...}]` is the canonical JSON of extension-only primitives; the examples omit it."""
    if isinstance(value, dict):
        return {
            k: _without_null_lists(v)
            for k, v in value.items()
            if not (isinstance(v, list) and all(x is None for x in v))
        }
    if isinstance(value, list):
        return [_without_null_lists(v) for v in value]
    return value


def test_xml_round_trip_of_every_seeded_resource(ref) -> None:
    for key, resource in ref.test_data.resources.items():
        xml = resource_to_xml(resource, validator=get_validator())
        root = etree.fromstring(xml)
        assert root.tag == f"{{http://hl7.org/fhir}}{resource['resourceType']}"
        back, problems = xml_to_json(xml, get_validator())
        assert not problems.findings, (key, [f.message_en for f in problems.findings])
        assert _without_null_lists(back) == resource, key


def test_create_from_xml_body(base: str) -> None:
    patient = {
        "resourceType": "Patient",
        "active": True,
        "name": [{"family": "XMLTEST", "given": ["ANNE"]}],
        "gender": "female",
    }
    reply = http(f"{base}/Patient", "POST", resource_to_xml(patient), headers={"Content-Type": "application/fhir+xml"})
    assert reply.status == 201
    assert reply.json["name"][0]["given"] == ["ANNE"] and reply.json["active"] is True


def test_unsupported_request_content_type_is_415(base: str) -> None:
    reply = http(f"{base}/Patient", "POST", b"name=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 415 and reply.json["resourceType"] == "OperationOutcome"


# ------------------------------------------------------------------------------------------- search


def test_count_and_next_links_walk_every_result_once(base: str) -> None:
    first = http(f"{base}/Patient?_count=1").json
    total = first["total"]
    assert total >= 3
    seen = [e["resource"]["id"] for e in first["entry"]]
    assert len(seen) == 1
    page = first
    while (link := next((k["url"] for k in page["link"] if k["relation"] == "next"), None)) is not None:
        page = http(link).json
        seen += [e["resource"]["id"] for e in page.get("entry", [])]
    assert len(seen) == total == len(set(seen))


def test_patient_by_ins_with_the_test_and_the_production_oid(ref, base: str) -> None:
    trois = http(f"{base}/Patient?identifier={INS_TEST}|279035121518989").json
    assert [e["resource"]["id"] for e in trois["entry"]] == ["pat-trois"]
    durand = ref.test_data.patients[1]
    assert durand.ins_system == INS_NIR
    found = http(f"{base}/Patient?identifier={INS_NIR}|{durand.ins}").json
    assert [e["resource"]["id"] for e in found["entry"]] == ["pat-durand"]
    assert http(f"{base}/Patient?identifier={INS_NIR}|279035121518989").json["total"] == 0


def test_unqualified_identity_does_not_carry_its_ins(ref, base: str) -> None:
    p = ref.test_data.unqualified_patient
    assert http(f"{base}/Patient?identifier={p.ins_system}|{p.ins}").json["total"] == 0
    patient = http(f"{base}/Patient/{p.id}").json
    assert all(i["system"] != p.ins_system for i in patient["identifier"])


def test_patient_by_traits(base: str) -> None:
    bundle = http(f"{base}/Patient?family=pat-trois&given=dominique&birthdate=1979-03-28&gender=female").json
    assert [e["resource"]["id"] for e in bundle["entry"]] == ["pat-trois"]
    assert http(f"{base}/Patient?family=PAT-TROIS&gender=male").json["total"] == 0
    assert http(f"{base}/Patient?family:exact=PAT-TROI").json["total"] == 0


def test_directory_searches(ref, base: str) -> None:
    data = ref.test_data
    found = http(f"{base}/Practitioner?identifier=https://rpps.esante.gouv.fr|{data.practitioner_rpps}").json
    assert [e["resource"]["id"] for e in found["entry"]] == [data.practitioner_id]
    by_idnps = http(f"{base}/Practitioner?identifier=urn:oid:1.2.250.1.71.4.2.1|{data.practitioner_idnps}").json
    assert by_idnps["total"] == 1
    org = http(f"{base}/Organization?identifier=https://finess.esante.gouv.fr|{data.organization_finess}").json
    assert [e["resource"]["id"] for e in org["entry"]] == [data.organization_id]
    roles = http(f"{base}/PractitionerRole?practitioner=Practitioner/{data.practitioner_id}").json
    assert [e["resource"]["id"] for e in roles["entry"]] == [data.practitioner_role_id]


def test_iti67_find_document_references(ref, base: str) -> None:
    doc = ref.test_data.documents[0]
    queries = [
        f"patient=Patient/{doc.patient_id}&status=current",
        f"patient.identifier={INS_TEST}|279035121518989",
        f"patient={doc.patient_id}&type=http://loinc.org|{doc.type_code}",
        f"patient={doc.patient_id}&date=ge2019-10-01&date=le2019-10-31",
    ]
    for query in queries:
        bundle = http(f"{base}/DocumentReference?{query}").json
        assert doc.document_reference_id in [e["resource"]["id"] for e in bundle.get("entry", [])], query
    superseded = http(f"{base}/DocumentReference?patient={doc.patient_id}&status=superseded").json
    assert [e["resource"]["status"] for e in superseded["entry"]] == ["superseded"]  # its earlier version
    assert http(f"{base}/DocumentReference?patient={doc.patient_id}&date=lt2019-01-01").json["total"] == 0


def test_iti66_find_submission_sets(ref, base: str) -> None:
    doc = ref.test_data.documents[0]
    bundle = http(
        f"{base}/List?patient={doc.patient_id}&code=https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes|submissionset"
    ).json
    assert [e["resource"]["id"] for e in bundle["entry"]] == [doc.submission_set_id]


def test_iti68_binary_retrieve_native_and_as_resource(ref, base: str) -> None:
    doc = ref.test_data.documents[0]
    native = http(f"{base}/Binary/{doc.binary_id}", headers={"Accept": "text/xml"})
    assert native.status == 200 and native.content_type.startswith("text/xml")
    assert native.body == ref.test_data.cda_bytes
    assert len(native.body) == doc.size
    assert base64.b64encode(hashlib.sha1(native.body).digest()).decode() == doc.sha1_base64
    assert b"ClinicalDocument" in native.body[:3000]
    resource = http(f"{base}/Binary/{doc.binary_id}", headers={"Accept": "application/fhir+json"}).json
    assert resource["resourceType"] == "Binary" and base64.b64decode(resource["data"]) == native.body


# ------------------------------------------------------------------------------------------- writes


def test_create_update_if_match_patch_delete(base: str) -> None:
    created = http(f"{base}/Patient", "POST", {"resourceType": "Patient", "name": [{"family": "CRUD"}]})
    assert created.status == 201 and "/_history/1" in created.headers["location"]
    pid = created.json["id"]
    updated = http(f"{base}/Patient/{pid}", "PUT", created.json | {"gender": "other"}, headers={"If-Match": 'W/"1"'})
    assert updated.status == 200 and updated.json["meta"]["versionId"] == "2"
    stale = http(f"{base}/Patient/{pid}", "PUT", created.json, headers={"If-Match": 'W/"1"'})
    assert stale.status == 412 and stale.json["resourceType"] == "OperationOutcome"
    patch = [{"op": "replace", "path": "/gender", "value": "female"}]
    patched = http(
        f"{base}/Patient/{pid}",
        "PATCH",
        json.dumps(patch).encode(),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert patched.status == 200 and patched.json["gender"] == "female"
    assert http(f"{base}/Patient/{pid}", "DELETE").status == 200
    gone = http(f"{base}/Patient/{pid}")
    assert gone.status == 410 and gone.json["resourceType"] == "OperationOutcome"


def _provide_bundle(ref, *, patient: str = "Patient/pat-trois", tamper_hash: bool = False) -> dict:
    data = ref.test_data
    doc = copy.deepcopy(data.resources[f"DocumentReference/{data.documents[0].document_reference_id}"])
    ss = copy.deepcopy(data.resources[f"List/{data.documents[0].submission_set_id}"])
    content = b"<ClinicalDocument xmlns='urn:hl7-org:v3'/>"
    binary = {"resourceType": "Binary", "contentType": "text/xml", "data": base64.b64encode(content).decode()}
    ids = {name: f"urn:uuid:{uuid.uuid4()}" for name in ("doc", "bin", "ss")}
    for r in (doc, ss):
        r.pop("id", None)
    doc["subject"] = {"reference": patient}
    doc["masterIdentifier"]["value"] = f"urn:uuid:{uuid.uuid4()}"
    attachment = doc["content"][0]["attachment"]
    attachment.update(
        url=ids["bin"],
        size=len(content),
        hash=base64.b64encode(hashlib.sha1(b"x" if tamper_hash else content).digest()).decode(),
    )
    ss["subject"] = {"reference": patient}
    ss["entry"] = [{"item": {"reference": ids["doc"]}}]
    return {
        "resourceType": "Bundle",
        "meta": {
            "profile": [
                "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-comprehensive-provide-document-bundle"
            ]
        },
        "type": "transaction",
        "entry": [
            {"fullUrl": ids["ss"], "resource": ss, "request": {"method": "POST", "url": "List"}},
            {"fullUrl": ids["doc"], "resource": doc, "request": {"method": "POST", "url": "DocumentReference"}},
            {"fullUrl": ids["bin"], "resource": binary, "request": {"method": "POST", "url": "Binary"}},
        ],
    }


def test_iti65_provide_document_bundle(ref, base: str) -> None:
    reply = http(base, "POST", _provide_bundle(ref))
    assert reply.status == 200, reply.body
    response = reply.json
    assert response["type"] == "transaction-response"
    assert [e["response"]["status"] for e in response["entry"]] == ["201 Created"] * 3
    doc_location = response["entry"][1]["response"]["location"]
    bin_location = response["entry"][2]["response"]["location"]
    stored = http(f"{base}/{doc_location.split('/_history')[0]}").json
    # the urn:uuid attachment URL now names the stored Binary
    assert stored["content"][0]["attachment"]["url"] == bin_location.split("/_history")[0]
    ss = http(f"{base}/{response['entry'][0]['response']['location'].split('/_history')[0]}").json
    assert ss["entry"][0]["item"]["reference"] == doc_location.split("/_history")[0]


def test_iti65_refuses_unknown_patient_and_hash_mismatch_without_storing(ref, base: str) -> None:
    before = http(f"{base}/DocumentReference?_summary=count").json["total"]
    unknown = http(base, "POST", _provide_bundle(ref, patient="Patient/nobody"))
    assert unknown.status == 422 and "nobody" in unknown.json["issue"][0]["diagnostics"]
    tampered = http(base, "POST", _provide_bundle(ref, tamper_hash=True))
    assert tampered.status == 422 and "hash" in tampered.json["issue"][0]["diagnostics"]
    assert http(f"{base}/DocumentReference?_summary=count").json["total"] == before


def test_transaction_without_request_is_400(base: str) -> None:
    reply = http(
        base,
        "POST",
        {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": {"resourceType": "Patient"}}]},
    )
    assert reply.status == 400 and reply.json["resourceType"] == "OperationOutcome"


def test_protocol_errors_are_operation_outcomes_too(base: str) -> None:
    reply = http(f"{base}/metadata", "OPTIONS")
    assert reply.status == 501
    assert reply.json["resourceType"] == "OperationOutcome"


def test_sort_by_birthdate_both_ways(base: str) -> None:
    up = [e["resource"].get("birthDate") for e in http(f"{base}/Patient?_sort=birthdate&_count=50").json["entry"]]
    down = [e["resource"].get("birthDate") for e in http(f"{base}/Patient?_sort=-birthdate&_count=50").json["entry"]]
    dated = [d for d in up if d]
    assert dated == sorted(dated) and [d for d in down if d] == sorted(dated, reverse=True)


def test_paging_links_keep_the_sort_order(base: str) -> None:
    page = http(f"{base}/Patient?_sort=-birthdate&_count=1").json
    dates = [page["entry"][0]["resource"].get("birthDate", "")]
    while (link := next((k["url"] for k in page["link"] if k["relation"] == "next"), None)) is not None:
        assert "_sort=-birthdate" in link
        page = http(link).json
        dates += [e["resource"].get("birthDate", "") for e in page.get("entry", [])]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, reverse=True)


def test_iti65_provide_document_bundle_in_xml(ref, base: str) -> None:
    bundle = _provide_bundle(ref)
    reply = http(
        base,
        "POST",
        resource_to_xml(bundle),
        headers={"Content-Type": "application/fhir+xml", "Accept": "application/fhir+xml"},
    )
    assert reply.status == 200, reply.body[:500]
    root = etree.fromstring(reply.body)
    assert root.find("{http://hl7.org/fhir}type").get("value") == "transaction-response"
    statuses = [e.get("value") for e in root.iter("{http://hl7.org/fhir}status")]
    assert statuses == ["201 Created"] * 3


def test_pdsm_search_parameters(ref, base: str) -> None:
    doc = ref.test_data.documents[0]
    found = http(f"{base}/List?patient={doc.patient_id}&isArchived=false").json
    assert doc.submission_set_id in [e["resource"]["id"] for e in found["entry"]]
    assert http(f"{base}/List?patient={doc.patient_id}&isArchived=true").json["total"] == 0
    by_source = http(f"{base}/List?sourceId=urn:oid:1.2.250.1.213.1.1.1|SRC-01").json
    assert doc.submission_set_id in [e["resource"]["id"] for e in by_source["entry"]]
    assert http(f"{base}/List?sourceId=urn:oid:1.2.250.1.213.1.1.1|SRC-99").json["total"] == 0
    assert http(f"{base}/DocumentReference?patient={doc.patient_id}&period-start=ge2019-10-01").json["total"] >= 1
    assert http(f"{base}/DocumentReference?patient={doc.patient_id}&period-end=lt2019-01-01").json["total"] == 0
    cs = http(f"{base}/metadata").json
    docref = next(r for r in cs["rest"][0]["resource"] if r["type"] == "DocumentReference")
    assert any(p["definition"].endswith("PDSm-isArchived") for p in docref["searchParam"])
