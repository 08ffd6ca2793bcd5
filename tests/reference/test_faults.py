"""Each seeded fault changes what it says, and only when switched on (the baseline is checked alongside)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest

from conformance.reference import ReferenceEndpoints
from conformance.reference.faults import FAULTS, UnknownFaultError, parse_faults
from conformance.reference.pam import PamMessageFactory, build_ack, check_pam_message, parse_ack
from conformance.transport import mllp
from conformance.validation.hl7v2.er7 import Segment, parse

from .helpers import http

INS_TEST = "urn:oid:1.2.250.1.213.1.4.10"


def emitted(ref: ReferenceEndpoints) -> list[str]:
    """What the reference sender emits to a listener of ours."""
    received: list[str] = []

    def listener(message: str) -> str:
        received.append(message)
        return build_ack(message, check_pam_message(message))

    with mllp.ThreadedMllpServer(listener) as server:
        assert ref.start_mllp_sender("127.0.0.1", server.port).wait(60)
    return received


def segment(message: str, name: str) -> Segment | None:
    return parse(message).first(name)


def ins_of_pid(message: str) -> str:
    pid = segment(message, "PID")
    return next((rep for rep in pid.field(3).split("~") if rep.endswith("^INS")), "") if pid else ""


# each check returns True when the endpoints show the fault, False when they behave
def ins_wrong_oid(ref: ReferenceEndpoints) -> bool:
    found = http(f"{ref.fhir_base_url}/Patient?identifier={INS_TEST}|279035121518989").json["total"]
    legacy = "&1.2.250.1.213.1.4.2&" in ins_of_pid(emitted(ref)[1])
    assert (found == 0) == legacy
    return legacy


def ins_unqualified(ref: ReferenceEndpoints) -> bool:
    p = ref.test_data.unqualified_patient
    found = http(f"{ref.fhir_base_url}/Patient?identifier={p.ins_system}|{p.ins}").json["total"]
    message = emitted(ref)[0]
    sent = bool(ins_of_pid(message)) and segment(message, "PID").field(32) == "PROV"
    assert (found == 1) == sent
    return sent


def patient_profile_invalid(ref: ReferenceEndpoints) -> bool:
    patient = http(f"{ref.fhir_base_url}/Patient/pat-trois").json
    return "extension" not in patient and "extension" not in patient["name"][0]


def capability_missing_interaction(ref: ReferenceEndpoints) -> bool:
    cs = http(f"{ref.fhir_base_url}/metadata").json
    docref = next(r for r in cs["rest"][0]["resource"] if r["type"] == "DocumentReference")
    return "search-type" not in {i["code"] for i in docref["interaction"]}


def docref_invalid(ref: ReferenceEndpoints) -> bool:
    doc = http(f"{ref.fhir_base_url}/DocumentReference/{ref.test_data.documents[0].document_reference_id}").json
    return "date" not in doc and "custodian" not in doc


def binary_mismatch(ref: ReferenceEndpoints) -> bool:
    doc = ref.test_data.documents[0]
    data = http(f"{ref.fhir_base_url}/Binary/{doc.binary_id}", headers={"Accept": "text/xml"}).body
    return base64.b64encode(hashlib.sha1(data).digest()).decode() != doc.sha1_base64 and len(data) != doc.size


def paging_broken(ref: ReferenceEndpoints) -> bool:
    page = http(f"{ref.fhir_base_url}/Patient?_count=1").json
    next_url = next(k["url"] for k in page["link"] if k["relation"] == "next")
    return http(next_url).status == 404


def count_ignored(ref: ReferenceEndpoints) -> bool:
    page = http(f"{ref.fhir_base_url}/Patient?_count=1").json
    return len(page["entry"]) == page["total"] > 1 and all(k["relation"] != "next" for k in page["link"])


def errors_html(ref: ReferenceEndpoints) -> bool:
    reply = http(f"{ref.fhir_base_url}/Patient/does-not-exist")
    assert reply.status == 404
    return reply.content_type.startswith("text/html")


def xml_unsupported(ref: ReferenceEndpoints) -> bool:
    return http(f"{ref.fhir_base_url}/Patient/pat-trois?_format=xml").content_type.startswith("application/fhir+json")


def etag_missing(ref: ReferenceEndpoints) -> bool:
    reply = http(f"{ref.fhir_base_url}/Patient/pat-trois")
    again = http(f"{ref.fhir_base_url}/Patient/pat-trois", headers={"If-None-Match": 'W/"1"'})
    return "etag" not in reply.headers and again.status == 200


def transaction_response_invalid(ref: ReferenceEndpoints) -> bool:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:5b9a0e54-31b5-4b7e-9d9c-0a8a5e1c2d11",
                "resource": {"resourceType": "Patient"},
                "request": {"method": "POST", "url": "Patient"},
            }
        ],
    }
    response = http(ref.fhir_base_url, "POST", bundle).json
    return response["type"] == "batch-response" and "location" not in response["entry"][0]["response"]


def rpps_missing(ref: ReferenceEndpoints) -> bool:
    return (
        http(
            f"{ref.fhir_base_url}/Practitioner?identifier=https://rpps.esante.gouv.fr|{ref.test_data.practitioner_rpps}"
        ).json["total"]
        == 0
    )


def finess_missing(ref: ReferenceEndpoints) -> bool:
    return (
        http(
            f"{ref.fhir_base_url}/Organization?identifier=https://finess.esante.gouv.fr|{ref.test_data.organization_finess}"
        ).json["total"]
        == 0
    )


def _metadata(ref: ReferenceEndpoints) -> dict:
    return http(f"{ref.fhir_base_url}/metadata").json


def capability_statement_invalid(ref: ReferenceEndpoints) -> bool:
    return _metadata(ref)["status"] not in ("draft", "active", "retired", "unknown")


def capability_undeclared_search(ref: ReferenceEndpoints) -> bool:
    patient = next(r for r in _metadata(ref)["rest"][0]["resource"] if r["type"] == "Patient")
    answered = http(f"{ref.fhir_base_url}/Patient?family=PAT-TROIS").json["total"] > 0
    assert answered
    return "search-type" in {i["code"] for i in patient["interaction"]} and not patient.get("searchParam")


def metadata_not_r4(ref: ReferenceEndpoints) -> bool:
    return _metadata(ref)["fhirVersion"] != "4.0.1"


def read_wrong_id(ref: ReferenceEndpoints) -> bool:
    return http(f"{ref.fhir_base_url}/Patient/pat-trois").json["id"] != "pat-trois"


def version_id_missing(ref: ReferenceEndpoints) -> bool:
    reply = http(f"{ref.fhir_base_url}/Patient/pat-trois")
    assert reply.headers["etag"] == 'W/"1"'
    return "versionId" not in reply.json["meta"]


def strict_ignored(ref: ReferenceEndpoints) -> bool:
    strict = {"Prefer": "handling=strict"}
    return http(f"{ref.fhir_base_url}/Patient?no-such-parameter=x", headers=strict).status == 200


def _documents(ref: ReferenceEndpoints, query: str = "") -> list[dict]:
    bundle = http(f"{ref.fhir_base_url}/DocumentReference?patient=Patient/pat-trois{query}").json
    return [e["resource"] for e in bundle.get("entry", [])]


def docref_status_filter_ignored(ref: ReferenceEndpoints) -> bool:
    assert {d["status"] for d in _documents(ref)} == {"current", "superseded"}
    return {d["status"] for d in _documents(ref, "&status=current")} != {"current"}


def docref_second_bad(ref: ReferenceEndpoints) -> bool:
    with_custodian = {d["id"]: "custodian" in d for d in _documents(ref)}
    first = ref.test_data.documents[0].document_reference_id
    assert with_custodian.pop(first) is True
    return list(with_custodian.values()) == [False]


def idnatps_missing(ref: ReferenceEndpoints) -> bool:
    idnps = f"urn:oid:1.2.250.1.71.4.2.1|{ref.test_data.practitioner_idnps}"
    practitioner = http(f"{ref.fhir_base_url}/Practitioner/{ref.test_data.practitioner_id}").json
    assert idnps.partition("|")[2] in {i["value"] for i in practitioner["identifier"]}  # still carried
    return http(f"{ref.fhir_base_url}/Practitioner?identifier={idnps}").json["total"] == 0


def practitioner_role_foreign(ref: ReferenceEndpoints) -> bool:
    practitioner = f"Practitioner/{ref.test_data.practitioner_id}"
    bundle = http(f"{ref.fhir_base_url}/PractitionerRole?practitioner={practitioner}").json
    return any(e["resource"]["practitioner"]["reference"] != practitioner for e in bundle.get("entry", []))


def organization_not_annuaire(ref: ReferenceEndpoints) -> bool:
    finess = f"https://finess.esante.gouv.fr|{ref.test_data.organization_finess}"
    found = http(f"{ref.fhir_base_url}/Organization?identifier={finess}").json
    assert found["total"] == 1
    return "active" not in found["entry"][0]["resource"]


def vread_unsupported(ref: ReferenceEndpoints) -> bool:
    assert http(f"{ref.fhir_base_url}/Patient/pat-trois").json["meta"]["versionId"] == "1"
    return http(f"{ref.fhir_base_url}/Patient/pat-trois/_history/1").status == 404


def unknown_id_400(ref: ReferenceEndpoints) -> bool:
    reply = http(f"{ref.fhir_base_url}/Patient/does-not-exist")
    assert reply.json["resourceType"] == "OperationOutcome"
    return reply.status == 400


def json_media_type_wrong(ref: ReferenceEndpoints) -> bool:
    return http(f"{ref.fhir_base_url}/metadata").content_type.startswith("application/json")


def patient_family_on_given(ref: ReferenceEndpoints) -> bool:
    return http(f"{ref.fhir_base_url}/Patient?family=PAT-TROIS").json["total"] == 0


def _first_document(ref: ReferenceEndpoints) -> dict:
    return http(f"{ref.fhir_base_url}/DocumentReference/{ref.test_data.documents[0].document_reference_id}").json


def docref_type_on_category(ref: ReferenceEndpoints) -> bool:
    document = _first_document(ref)
    coding = document["type"]["coding"][0]
    return document["id"] not in {d["id"] for d in _documents(ref, f"&type={coding['system']}|{coding['code']}")}


def docref_date_prefix_inverted(ref: ReferenceEndpoints) -> bool:
    document = _first_document(ref)
    day = document["date"][:10]
    found_by = {prefix: {d["id"] for d in _documents(ref, f"&date={prefix}{day}")} for prefix in ("ge", "lt")}
    return document["id"] not in found_by["ge"] and document["id"] in found_by["lt"]


def submissionset_no_date(ref: ReferenceEndpoints) -> bool:
    bundle = http(f"{ref.fhir_base_url}/List?patient=Patient/pat-trois").json
    sets = [e["resource"] for e in bundle.get("entry", [])]
    assert sets
    return all("date" not in s for s in sets)


def practitioner_not_annuaire(ref: ReferenceEndpoints) -> bool:
    return "active" not in http(f"{ref.fhir_base_url}/Practitioner/{ref.test_data.practitioner_id}").json


def practitionerrole_not_annuaire(ref: ReferenceEndpoints) -> bool:
    practitioner = f"Practitioner/{ref.test_data.practitioner_id}"
    roles = [
        e["resource"] for e in http(f"{ref.fhir_base_url}/PractitionerRole?practitioner={practitioner}").json["entry"]
    ]
    return all("active" not in r for r in roles)


def submissionset_code_wrong(ref: ReferenceEndpoints) -> bool:
    everything = http(f"{ref.fhir_base_url}/List?patient=Patient/pat-trois").json["total"]
    assert everything > 0
    return http(f"{ref.fhir_base_url}/List?patient=Patient/pat-trois&code=submissionset").json["total"] == 0


def transaction_location_wrong(ref: ReferenceEndpoints) -> bool:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}}],
    }
    location = http(ref.fhir_base_url, "POST", bundle).json["entry"][0]["response"]["location"]
    return http(f"{ref.fhir_base_url}/{location.split('/_history')[0]}").status == 404


def zbe_missing(ref: ReferenceEndpoints) -> bool:
    messages = emitted(ref)
    return all(segment(m, "ZBE") is None for m in messages[1:4])


def msh12_wrong(ref: ReferenceEndpoints) -> bool:
    return parse(emitted(ref)[1]).msh.field(12) == "2.5"


def _receiver_ack(ref: ReferenceEndpoints, message: str) -> str:
    return mllp.send_and_receive(*ref.mllp_receiver, message, timeout=10)


def ack_wrong_msa2(ref: ReferenceEndpoints) -> bool:
    message = PamMessageFactory(ref.test_data).a01()
    return parse_ack(_receiver_ack(ref, message))[1] != parse(message).msh.field(10)


def ack_aa_for_defective(ref: ReferenceEndpoints) -> bool:
    message, _ = PamMessageFactory(ref.test_data).defective()["missing-zbe"]
    ack = _receiver_ack(ref, message)
    return parse_ack(ack)[0] == "AA" and "\rERR|" not in ack


def ack_no_err(ref: ReferenceEndpoints) -> bool:
    message, _ = PamMessageFactory(ref.test_data).defective()["missing-zbe"]
    ack = _receiver_ack(ref, message)
    assert parse_ack(ack)[0] == "AE"
    return "\rERR|" not in ack


def oru_obx_not_base64(ref: ReferenceEndpoints) -> bool:
    oru = emitted(ref)[7]
    obx = next(s for s in parse(oru).all("OBX") if s.field(2) == "ED")
    not_base64 = obx.field(5).split("^")[3] == "A"
    assert not_base64 == (check_pam_message(oru).ack_code == "AE")
    return not_base64


def hl7v2_cda_invalid(ref: ReferenceEndpoints) -> bool:
    oru = emitted(ref)[7]
    obx = next(s for s in parse(oru).all("OBX") if s.field(2) == "ED")
    carried = base64.b64decode(obx.field(5).split("^")[4])
    return carried.count(b"<title>") == ref.test_data.cda_bytes.count(b"<title>") - 1  # the document's own title


def produced_cda_invalid(ref: ReferenceEndpoints) -> bool:
    cda = next(p for p in ref.produced_documents() if p.suffix.lower() == ".xml").read_bytes()
    return cda.count(b"<title>") == ref.test_data.cda_bytes.count(b"<title>") - 1


def xdm_hash_tampered(ref: ReferenceEndpoints) -> bool:
    import hashlib
    import re
    import zipfile

    package = next(p for p in ref.produced_documents() if p.suffix.upper() == ".ZIP")
    with zipfile.ZipFile(package) as archive:
        metadata = archive.read("IHE_XDM/SUBSET01/METADATA.XML").decode()
        document = archive.read("IHE_XDM/SUBSET01/DOC0001.XML")
    declared = re.search(r'name="hash"[^>]*>\s*<rim:ValueList>\s*<rim:Value>([0-9a-f]+)<', metadata).group(1)
    assert document == ref.test_data.cda_bytes
    return declared != hashlib.sha1(document).hexdigest()


# the MSSanté faults are checked behaviour by behaviour in tests/mssante (client, TLS probes, receiver), the DMP
# faults in tests/dmp (the feeding client's against a judging simulator, the repository's by probes)
MSS_FAULTS = {name for name, fault in FAULTS.items() if fault.endpoint.startswith(("mssante", "dmp-"))}
CHECKS: dict[str, Callable[[ReferenceEndpoints], bool]] = {
    name: globals()[name.replace("-", "_")] for name in FAULTS if name not in MSS_FAULTS
}


def test_every_fault_has_a_check() -> None:
    assert set(CHECKS) | MSS_FAULTS == set(FAULTS)


@pytest.fixture(scope="module")
def baseline():
    with ReferenceEndpoints() as ref:
        yield ref


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_fault_changes_what_it_names(name: str, baseline: ReferenceEndpoints) -> None:
    assert CHECKS[name](baseline) is False, f"{name} shows without the fault"
    with ReferenceEndpoints(faults={name}) as faulty:
        assert CHECKS[name](faulty) is True, f"{name} does not show with the fault"


def test_unknown_fault_is_refused_with_the_known_names() -> None:
    with pytest.raises(UnknownFaultError, match="ins-wrong-oid"):
        parse_faults("no-such-fault")
    assert parse_faults("zbe-missing, msh12-wrong") == {"zbe-missing", "msh12-wrong"}
