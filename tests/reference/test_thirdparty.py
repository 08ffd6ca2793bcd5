"""Third-party implementations (Medplum FHIR router, npm MLLP peers) start on loopback and answer."""

from __future__ import annotations

import pytest
from support.thirdparty import MedplumServer, NpmMllpReceiver, npm_mllp_send, thirdparty_available

from conformance.reference.pam import PamMessageFactory, build_ack, check_pam_message, parse_ack
from conformance.reference.test_data import build_test_data
from conformance.transport import mllp
from conformance.validation.hl7v2.er7 import parse

from .helpers import http

pytestmark = [
    pytest.mark.network_tools,
    pytest.mark.skipif(thirdparty_available() is not None, reason=str(thirdparty_available())),
]


@pytest.fixture(scope="module")
def medplum():
    with MedplumServer(seed=True) as server:
        yield server


def test_medplum_answers_metadata(medplum: MedplumServer) -> None:
    assert medplum.fhir_base_url.startswith("http://127.0.0.1:")
    cs = http(f"{medplum.fhir_base_url}/metadata").json
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    assert "Patient" in {r["type"] for r in cs["rest"][0]["resource"]}


def test_medplum_create_read_and_search(medplum: MedplumServer) -> None:
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:1.2.250.1.213.1.4.10", "value": "279035121518989"}],
        "name": [{"family": "PAT-TROIS", "given": ["DOMINIQUE"]}],
    }
    created = http(f"{medplum.fhir_base_url}/Patient", "POST", patient)
    assert created.status == 201 and created.headers["location"]
    read = http(f"{medplum.fhir_base_url}/Patient/{created.json['id']}")
    assert read.status == 200 and read.json["name"][0]["family"] == "PAT-TROIS"
    found = http(f"{medplum.fhir_base_url}/Patient?identifier=urn:oid:1.2.250.1.213.1.4.10|279035121518989").json
    assert created.json["id"] in [e["resource"]["id"] for e in found["entry"]]
    missing = http(f"{medplum.fhir_base_url}/Patient/does-not-exist")
    assert missing.status == 404 and missing.json["resourceType"] == "OperationOutcome"


def test_npm_receiver_acknowledges_what_the_harness_sends() -> None:
    message = PamMessageFactory(build_test_data()).a01()
    with NpmMllpReceiver() as peer:
        ack = mllp.send_and_receive(peer.host, peer.port, message, timeout=10)
        assert peer.received(wait_for=1)
    code, acked = parse_ack(ack)
    assert code == "AA" and acked == parse(message).msh.field(10)


@pytest.mark.parametrize("impl", ["medplum", "simple-hl7"])
def test_npm_clients_send_to_a_harness_listener(impl: str) -> None:
    messages = [m for _, m in PamMessageFactory(build_test_data()).sequence()[:2]]
    received: list[str] = []

    def listener(message: str) -> str:
        received.append(message)
        return build_ack(message, check_pam_message(message))

    with mllp.ThreadedMllpServer(listener) as server:
        results = npm_mllp_send("127.0.0.1", server.port, messages, impl=impl, timeout=10)
    assert [r.get("index") for r in results] == [0, 1]
    assert all(parse_ack(r["ack"])[0] == "AA" for r in results)
    assert [parse(m).msh.field(10) for m in received] == [parse(m).msh.field(10) for m in messages]


def test_medplum_holds_the_seeded_reference_data(medplum: MedplumServer) -> None:
    assert medplum.seeded and all(status in (200, 201) for status in medplum.seeded.values()), medplum.seeded
    assert http(f"{medplum.fhir_base_url}/Patient/pat-trois").json["birthDate"] == "1979-03-28"


def test_medplum_metadata_lists_only_r4_resource_types(medplum: MedplumServer) -> None:
    from conformance.packages import load_context

    r4 = {
        c["code"] for c in (load_context().code_system("http://hl7.org/fhir/resource-types") or {}).get("concept", [])
    }
    if not r4:
        pytest.skip("R4 core package not installed (make fhir-packages)")
    declared = {r["type"] for r in http(f"{medplum.fhir_base_url}/metadata").json["rest"][0]["resource"]}
    assert declared and declared <= r4
