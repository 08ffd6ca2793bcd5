"""A fabricated but realistic run, for the evidence/report tests, the bench and demos.

Several suites, every outcome (passed, failed, error, skipped), findings, HTTP exchanges (FHIR JSON with
a test patient, an OAuth2 token response, a failed connection) and MLLP frames (PAM FR ADT + ACK), all
recorded through an EvidenceRecorder, with the configured secrets echoed back by the "server".
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conformance import __version__
from conformance.evidence.exchange import HttpExchange, HttpRequestRecord, HttpResponseRecord, MllpFrame
from conformance.evidence.recorder import EvidenceRecorder
from conformance.findings import finding
from conformance.results import Requirement, RunResult, TestOutcome, TestResult


@dataclass(frozen=True, slots=True)
class SampleSecrets:
    bearer_token: str = "eyJhbGciOiJSUzI1NiJ9.c2FtcGxlLWJlYXJlci10b2tlbg.Zm9vYmFyYmF6cXV4"
    basic_user: str = "hopen-harness"
    basic_password: str = "Pa55w0rd!basic-7f3c"
    client_secret: str = "oauth2-client-secret-91d2e6"
    key_password: str = "key-passphrase-4b8a0c"
    cookie: str = "JSESSIONID=s3ss10n-c00k1e-77aa"

    def as_list(self) -> list[str]:
        return [
            self.bearer_token,
            self.basic_password,
            self.client_secret,
            self.key_password,
            self.cookie.split("=")[1],
        ]


@dataclass(frozen=True, slots=True)
class SamplePatient:
    family: str = "DESMAREAUX"
    given: str = "Clothilde"
    birth_date: str = "1987-06-14"
    ins: str = "2870675123456"  # a test NIR-shaped value (13 digits); never a real person's
    ins_key: str = "42"
    ipp: str = "IPP778812"

    @property
    def hl7_birth(self) -> str:
        return self.birth_date.replace("-", "")


SECRETS = SampleSecrets()
PATIENT = SamplePatient()
INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.10"


def sample_configuration(secrets: SampleSecrets = SECRETS) -> dict:
    """A configuration as a user writes it (secrets inside): reports must never show them."""
    return {
        "target": {"fhir_base_url": "http://127.0.0.1:8080/fhir", "mllp": "127.0.0.1:2575"},
        "auth": {
            "bearer_token": secrets.bearer_token,
            "basic": {"user": secrets.basic_user, "password": secrets.basic_password},
            "oauth2": {
                "token_url": "http://127.0.0.1:8080/token",
                "client_id": "harness",
                "client_secret": secrets.client_secret,
            },
        },
        "tls": {"client_key": "/etc/hopen/client.key", "client_key_password": secrets.key_password, "verify": True},
        "evidence": {"pseudonymize": False},
    }


def patient_resource(patient: SamplePatient = PATIENT) -> dict:
    return {
        "resourceType": "Patient",
        "id": "p1",
        "meta": {"profile": ["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-ins"]},
        "text": {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{patient.given} {patient.family}, née le {patient.birth_date}</div>',
        },
        "identifier": [
            {"system": INS_SYSTEM, "value": patient.ins + patient.ins_key},
            {"system": "urn:oid:1.2.250.1.71.4.2.7", "value": patient.ipp},
        ],
        "name": [{"use": "official", "family": patient.family, "given": [patient.given]}],
        "gender": "female",
        "birthDate": patient.birth_date,
    }


def adt_message(patient: SamplePatient = PATIENT, control_id: str = "MSG0001") -> str:
    segments = [
        f"MSH|^~\\&|HARNESS|HOPEN|SUT|HOSP|20260101120000||ADT^A01^ADT_A01|{control_id}|P|2.5^FRA^2.11|||||FRA|UNICODE UTF-8",
        "EVN||20260101120000",
        f"PID|||{patient.ipp}^^^HOSP&1.2.250.1.71.4.2.7&ISO^PI~{patient.ins}{patient.ins_key}^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.10&ISO^INS"
        f"||{patient.family}^{patient.given}^^^^^L||{patient.hl7_birth}|F|||||||||||||||||||||VALI",
        "PV1||I|CARDIO^101^1",
    ]
    return "\r".join(segments) + "\r"


def cda_document(patient: SamplePatient = PATIENT) -> str:
    """A minimal CDA header naming the patient (for the document exchanges)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><ClinicalDocument xmlns="urn:hl7-org:v3">'
        f'<recordTarget><patientRole><id root="1.2.250.1.213.1.4.10" extension="{patient.ins}{patient.ins_key}"/>'
        f"<patient><name><given>{patient.given}</given><family>{patient.family}</family></name>"
        f'<birthTime value="{patient.hl7_birth}"/></patient></patientRole></recordTarget></ClinicalDocument>'
    )


def provide_bundle(patient: SamplePatient = PATIENT) -> dict:
    document = base64.b64encode(cda_document(patient).encode()).decode()
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient_resource(patient), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": {"resourceType": "Binary", "contentType": "text/xml", "data": document},
                "request": {"method": "POST", "url": "Binary"},
            },
        ],
    }


def ack_message(control_id: str = "MSG0001", code: str = "AA") -> str:
    return (
        f"MSH|^~\\&|SUT|HOSP|HARNESS|HOPEN|20260101120001||ACK^A01^ACK|ACK{control_id}|P|2.5^FRA^2.11\r"
        f"MSA|{code}|{control_id}\r"
    )


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def tick(self, ms: int = 15) -> datetime:
        self.now += timedelta(milliseconds=ms)
        return self.now


def _http(
    clock: _Clock,
    method: str,
    url: str,
    status: int | None,
    body: bytes,
    *,
    secrets: SampleSecrets,
    request_body: bytes = b"",
    error: str | None = None,
    response_headers: dict[str, str] | None = None,
) -> HttpExchange:
    basic = base64.b64encode(f"{secrets.basic_user}:{secrets.basic_password}".encode()).decode()
    request = HttpRequestRecord(
        method,
        url,
        {
            "Authorization": f"Bearer {secrets.bearer_token}",
            "Accept": "application/fhir+json",
            "Cookie": secrets.cookie,
        },
        request_body,
    )
    # A careless server echoes credentials back: in a header, and in its body (debug info).
    headers = {"Content-Type": "application/fhir+json", "Set-Cookie": f"{secrets.cookie}; Path=/; HttpOnly"}
    headers["X-Debug-Auth"] = f"Basic {basic}"
    headers.update(response_headers or {})
    started = clock.tick()
    response = None if status is None else HttpResponseRecord(status, "OK" if status < 400 else "Error", headers, body)
    return HttpExchange(request, response, started, clock.tick(40), error=error)


def _frames(clock: _Clock, message: str, ack: str) -> Iterator[MllpFrame]:
    yield MllpFrame("sent", "127.0.0.1:40001", "127.0.0.1:2575", message.encode(), clock.tick())
    yield MllpFrame("received", "127.0.0.1:40001", "127.0.0.1:2575", ack.encode(), clock.tick(5))


def fabricate_run(
    run_dir: Path,
    *,
    secrets: SampleSecrets = SECRETS,
    patient: SamplePatient = PATIENT,
    pseudonymize: bool = False,
    programme: str = "hopen2-2024",
    extra_exchanges: int = 0,
    complete: bool = True,
    recorder: EvidenceRecorder | None = None,
) -> tuple[RunResult, EvidenceRecorder]:
    """Records a realistic set of exchanges into `run_dir/evidence` and returns the RunResult and recorder."""
    config = sample_configuration(secrets)
    recorder = recorder or EvidenceRecorder(run_dir, secrets=secrets.as_list(), pseudonymize=pseudonymize)
    started = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    clock = _Clock(started)
    base = config["target"]["fhir_base_url"]
    patient_json = json.dumps(patient_resource(patient)).encode()
    bundle = json.dumps(
        {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [{"resource": patient_resource(patient)}]}
    ).encode()
    echo_body = json.dumps(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "information",
                    "code": "informational",
                    "diagnostics": f"debug: received password={secrets.basic_password} token {secrets.bearer_token}",
                }
            ],
        }
    ).encode()
    token_response = json.dumps(
        {"access_token": "learned-access-token-5e6f7a8b", "token_type": "Bearer", "expires_in": 300}
    ).encode()

    plan: list[tuple[TestResult, list]] = []

    def add(test: TestResult, exchanges: list) -> None:
        plan.append((test, exchanges))

    def t(test_id: str, fr: str, en: str, caps: list[str], outcome: TestOutcome, **extra) -> TestResult:
        suite, group, _ = test_id.split("/")
        return TestResult(
            id=test_id,
            title=fr,
            title_en=en,
            suite=suite,
            group=group,
            capabilities=caps,
            requirements=extra.pop("requirements", []),
            outcome=outcome,
            **extra,
        )

    add(
        t(
            "fhir-basics/capability/metadata-is-r4",
            "Le serveur publie un CapabilityStatement R4",
            "The server publishes an R4 CapabilityStatement",
            ["fhir.rest.capabilities"],
            TestOutcome.PASSED,
            requirements=[Requirement("FHIR R4", "§3.1.0.2 capabilities", "GET [base]/metadata")],
        ),
        [
            _http(
                clock,
                "GET",
                f"{base}/metadata",
                200,
                b'{"resourceType":"CapabilityStatement","fhirVersion":"4.0.1","status":"active","date":"2026-01-01","kind":"instance","format":["json"]}',
                secrets=secrets,
            )
        ],
    )
    add(
        t(
            "auth/oauth2/token",
            "Obtention d'un jeton OAuth2 (client credentials)",
            "OAuth2 token (client credentials)",
            ["security.tls"],
            TestOutcome.PASSED,
        ),
        [
            _http(
                clock,
                "POST",
                "http://127.0.0.1:8080/token",
                200,
                token_response,
                secrets=secrets,
                request_body=f"grant_type=client_credentials&client_id=harness&client_secret={secrets.client_secret}".encode(),
                response_headers={"Content-Type": "application/json"},
            )
        ],
    )
    add(
        t(
            "identity/ins/search-by-ins",
            "Recherche d'un patient par son INS",
            "Patient search by INS",
            ["identity.ins.search"],
            TestOutcome.PASSED,
            requirements=[Requirement("FR Core 2.2.0", "Patient search by identifier")],
        ),
        [
            _http(
                clock,
                "GET",
                f"{base}/Patient?identifier={INS_SYSTEM}|{patient.ins}{patient.ins_key}",
                200,
                bundle,
                secrets=secrets,
            ),
            _http(
                clock,
                "GET",
                f"{base}/Patient?family={patient.family}&given={patient.given}&birthdate={patient.birth_date}",
                200,
                bundle,
                secrets=secrets,
            ),
        ],
    )
    add(
        t(
            "identity/ins/patient-ins-profile",
            "Le patient est conforme à FR Core PatientINS",
            "The patient conforms to FR Core PatientINS",
            ["identity.ins.profile", "identity.ins.qualified"],
            TestOutcome.FAILED,
            messages=[f"Le patient {patient.family} ({patient.birth_date}) n'a pas d'extension de statut d'identité"],
            findings=[
                finding(
                    "error",
                    "invariant",
                    "fr-core-1",
                    "Patient.identifier[0]",
                    "L'INS ne doit être transmis que pour une identité qualifiée (VALI)",
                    "The INS must only be sent with a qualified identity (VALI)",
                    source="fhir",
                    profile="https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-ins",
                ),
                finding(
                    "warning",
                    "code-invalid",
                    "fhir-binding",
                    "Patient.gender",
                    "Code inattendu",
                    "Unexpected code",
                    source="fhir",
                ),
            ],
        ),
        [_http(clock, "GET", f"{base}/Patient/p1", 200, patient_json, secrets=secrets)],
    )
    add(
        t(
            "fhir-basics/errors/unknown-resource",
            "Une ressource inconnue renvoie un OperationOutcome",
            "An unknown resource returns an OperationOutcome",
            ["fhir.rest.errors"],
            TestOutcome.PASSED,
        ),
        [_http(clock, "GET", f"{base}/Patient/does-not-exist", 404, echo_body, secrets=secrets)],
    )
    add(
        t(
            "documents/pdsm/provide-bundle",
            "Envoi d'un lot de documents ITI-65",
            "ITI-65 provide document bundle",
            ["documents.pdsm.provide"],
            TestOutcome.ERROR,
            messages=["Délai dépassé : aucune réponse du serveur en 30 s"],
        ),
        [
            _http(
                clock,
                "POST",
                f"{base}/",
                None,
                b"",
                secrets=secrets,
                request_body=json.dumps(provide_bundle(patient)).encode(),
                error="timeout after 30 s",
            )
        ],
    )
    add(
        t(
            "documents/cda/content",
            "Le document CDA est conforme au CI-SIS",
            "The CDA document conforms to the CI-SIS",
            ["documents.cda.content"],
            TestOutcome.SKIPPED,
            messages=["La configuration ne fournit pas de document CDA"],
        ),
        [],
    )
    add(
        t(
            "directory/practitioner/by-rpps",
            "Recherche d'un professionnel par RPPS",
            "Practitioner search by RPPS",
            ["directory.practitioner"],
            TestOutcome.SKIPPED,
            messages=["Aucun annuaire configuré"],
        ),
        [],
    )
    add(
        t(
            "movements/pam/admit-a01",
            "Admission A01 acquittée AA",
            "A01 admission acknowledged with AA",
            ["movements.pam.receive", "movements.pam.ack"],
            TestOutcome.PASSED,
            requirements=[Requirement("IHE PAM FR 2.11", "§6.5 MSH-12"), Requirement("IHE PAM FR 2.11", "ACK MSA-2")],
        ),
        list(_frames(clock, adt_message(patient, "MSG0001"), ack_message("MSG0001"))),
    )
    add(
        t(
            "movements/pam/ack-wrong-control-id",
            "L'acquittement reprend MSH-10 dans MSA-2",
            "The ACK repeats MSH-10 in MSA-2",
            ["movements.pam.ack"],
            TestOutcome.FAILED,
            findings=[
                finding(
                    "error",
                    "value",
                    "pam-ack-msa2",
                    "MSA-2",
                    "MSA-2 ne reprend pas MSH-10 du message",
                    "MSA-2 does not repeat the message's MSH-10",
                    source="hl7v2",
                )
            ],
        ),
        list(_frames(clock, adt_message(patient, "MSG0002"), ack_message("OTHER99"))),
    )
    if extra_exchanges:  # recorded one by one below, never held in memory together
        add(
            t(
                "load/volume/many-exchanges",
                "Volume d'échanges",
                "Exchange volume",
                ["fhir.rest.read"],
                TestOutcome.PASSED,
            ),
            [],
        )

    run = RunResult(
        run_id="run-20261125-090000-sample",
        tool_version=__version__,
        packages={"hl7.fhir.r4.core": "4.0.1", "hl7.fhir.fr.core": "2.2.0", "pam-fr": "2.11"},
        target=dict(config["target"]),
        configuration=config,
        programme=programme,
        language="fr",
        started=started,
    )
    for test, exchanges in plan:
        recorder.begin_test(test.id)
        test.started = clock.tick()
        for exchange in exchanges:
            recorder.record(exchange)
        if test.id == "identity/ins/patient-ins-profile":
            recorder.attach(
                test.id,
                "operation-outcome.json",
                json.dumps({"resourceType": "OperationOutcome", "issue": [f.to_issue() for f in test.findings]}),
                "application/fhir+json",
            )
        if test.id == "load/volume/many-exchanges":
            for _ in range(extra_exchanges):
                recorder.record(_http(clock, "GET", f"{base}/Patient/p1", 200, patient_json, secrets=secrets))
        test.finished = clock.tick()
        test.evidence = recorder.end_test()
        run.tests.append(test)
    run.finished = clock.tick()
    run.complete = complete
    return run, recorder
