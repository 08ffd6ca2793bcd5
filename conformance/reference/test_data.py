"""The reference server's built-in test data: fictitious identities and resources that conform to FR Core
2.2.0, PDSm 3.1.1 and the Annuaire Santé profiles.

Where the national packages ship an example, the resource is built from it (read from the package archive at
start-up, never copied into the repository); the patient of the shared document is the one the CI-SIS example
CDA `LDL-EES_2022.01.xml` names (under the INS-NIR test OID), and that CDA is the Binary content
of the seeded DocumentReference. `TestData` lists what the campaign's configuration can name.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import tarfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from conformance import settings
from conformance.config import PatientData
from conformance.identifiers import (
    FINESS_SYSTEM,
    FR_CORE,
    FR_CORE_IDENTITY_VALIDATION_MODE,
    IDENTITY_RELIABILITY,
    IDNPS_SYSTEM,
    IDNST_SYSTEM,
    INS_NIA_OID,
    INS_NIR_OID,
    INS_TEST_NIR_OID,
    PROFILE_DOCREF,
    PROFILE_PATIENT,
    PROFILE_PATIENT_INS,
    PROFILE_SUBMISSIONSET,
    RPPS_SYSTEM,
    urn,
)
from conformance.identifiers import FR_CORE_V2_0203 as V2_0203_FR
from conformance.identifiers import FR_CORE_V2_0445 as V2_0445_FR

INS_NIR_SYSTEM = urn(INS_NIR_OID)
INS_NIR_TEST_OID = urn(INS_TEST_NIR_OID)  # the FHIR system of the test INS-NIR
INS_NIA_SYSTEM = urn(INS_NIA_OID)
IPP_SYSTEM = "urn:oid:1.2.250.1.999.1.1"  # fictitious facility's patient identifier domain
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"

CDA_FILE_NAME = "LDL-EES_2022.01.xml"
PDSM_PACKAGE = "ans.fhir.fr.pdsm-3.1.1.tgz"
ANNUAIRE_PACKAGE = "ans.fhir.fr.annuaire-1.2.0-snapshot-2.tgz"
FR_CORE_PACKAGE = "hl7.fhir.fr.core-2.2.0.tgz"


class TestDataError(RuntimeError):
    """The shared reference data the test data is built from cannot be read."""


@dataclass(frozen=True)
class TestDocument:
    document_reference_id: str
    binary_id: str
    submission_set_id: str
    patient_id: str
    type_system: str
    type_code: str
    content_type: str
    size: int
    sha1_base64: str
    master_identifier: str
    date: str


@dataclass
class TestData:
    """What the reference server holds at start-up, named for the campaign configuration."""

    patients: list[PatientData]
    practitioner_id: str
    practitioner_rpps: str
    practitioner_idnps: str
    practitioner_role_id: str
    organization_id: str
    organization_finess: str
    organization_idnst: str
    documents: list[TestDocument]
    resources: dict[str, dict] = field(repr=False, default_factory=dict)  # "Type/id" -> resource
    cda_bytes: bytes = field(repr=False, default=b"")

    @property
    def qualified_patient(self) -> PatientData:
        return next(p for p in self.patients if p.qualified)

    @property
    def unqualified_patient(self) -> PatientData:
        return next(p for p in self.patients if not p.qualified)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for a configuration file or a report (no resource bodies)."""
        return {
            "patients": [asdict(p) | {"ins_token": p.ins_token} for p in self.patients],
            "practitioner": {
                "id": self.practitioner_id,
                "rpps": self.practitioner_rpps,
                "rpps_token": f"{RPPS_SYSTEM}|{self.practitioner_rpps}",
                "idnps": self.practitioner_idnps,
                "idnps_token": f"{IDNPS_SYSTEM}|{self.practitioner_idnps}",
            },
            "practitioner_role": {"id": self.practitioner_role_id},
            "organization": {
                "id": self.organization_id,
                "finess": self.organization_finess,
                "finess_token": f"{FINESS_SYSTEM}|{self.organization_finess}",
                "idnst": self.organization_idnst,
            },
            "documents": [asdict(d) for d in self.documents],
        }


def nir_key(nir13: str) -> str:
    """The two-digit control key of a 13-digit NIR: 97 - (NIR mod 97)."""
    return f"{97 - int(nir13) % 97:02d}"


def sha1_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")


def _package_archive(file_name: str) -> Path:
    for folder in settings.fhir_package_search_path():
        candidate = folder / file_name
        if candidate.is_file():
            return candidate
    raise TestDataError(f"FHIR package {file_name} not found in {settings.fhir_package_search_path()}")


def read_package_example(package_file: str, example_name: str) -> dict:
    """One example resource from a package archive (`package/example/<name>.json`)."""
    archive = _package_archive(package_file)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(f"package/example/{example_name}.json")
            if member is None:
                raise KeyError(example_name)
            resource = json.loads(member.read())
    except (KeyError, tarfile.TarError, OSError, ValueError) as exc:
        raise TestDataError(f"cannot read example {example_name} from {archive}: {exc}") from exc
    resource.pop("text", None)  # the narrative names the package's own ids; ours differ
    return resource


def read_cda_example() -> bytes:
    path = settings.cda_pack_dir() / "ExemplesCDA" / CDA_FILE_NAME
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TestDataError(f"cannot read the CI-SIS example document {path}: {exc}") from exc


def _ins_identifier(system: str, value: str) -> dict:
    type_code = {INS_NIR_SYSTEM: "INS-NIR", INS_NIR_TEST_OID: "INS-NIR-TEST", INS_NIA_SYSTEM: "INS-NIA"}[system]
    return {
        "use": "official",
        "type": {"coding": [{"system": V2_0203_FR, "code": type_code}]},
        "system": system,
        "value": value,
    }


def _ipp_identifier(value: str) -> dict:
    return {
        "use": "usual",
        "type": {"coding": [{"system": V2_0203, "code": "PI", "display": "Patient internal identifier"}]},
        "system": IPP_SYSTEM,
        "value": value,
    }


def _identity_reliability(status: str, mode: str | None) -> dict:
    parts = [{"url": "identityStatus", "valueCoding": {"system": V2_0445_FR, "code": status}}]
    if mode:
        parts.append(
            {
                "url": "validationMode",
                "valueCoding": {
                    "system": FR_CORE_IDENTITY_VALIDATION_MODE,
                    "code": mode,
                },
            }
        )
    return {"url": IDENTITY_RELIABILITY, "extension": parts}


def _birth_place(insee_code: str, city: str) -> dict:
    return {
        "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
        "valueAddress": {
            "extension": [
                {
                    "url": FR_CORE + "fr-core-address-insee-code",
                    "valueCoding": {
                        "system": "https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM",
                        "code": insee_code,
                    },
                }
            ],
            "city": city,
        },
    }


def build_patient(p: PatientData, *, birth_list_given: str) -> dict:
    """A FR Core PatientINS when qualified (INS + VALI), a FR Core Patient with status PROV otherwise."""
    identifiers = [_ipp_identifier(p.ipp or "")]
    if p.qualified and p.ins:
        identifiers.insert(0, _ins_identifier(p.ins_system, p.ins))
    name: dict[str, Any] = {
        "extension": [{"url": FR_CORE + "fr-core-patient-birth-list-given-name", "valueString": birth_list_given}],
        "use": "official",
        "family": p.family,
        "given": [p.given],
    }
    return {
        "resourceType": "Patient",
        "id": p.id,
        "meta": {"profile": [PROFILE_PATIENT_INS if p.qualified else PROFILE_PATIENT]},
        "extension": [
            _birth_place(p.birth_place, p.birth_city),
            _identity_reliability("VALI" if p.qualified else "PROV", "CN" if p.qualified else None),
        ],
        "identifier": identifiers,
        "active": True,
        "name": [name],
        "gender": p.gender,
        "birthDate": p.birth_date,
    }


PATIENTS = (
    # The patient of the CI-SIS example CDA LDL-EES_2022.01.xml (recordTarget), INS-NIR test OID.
    (
        PatientData(
            id="pat-trois",
            family="PAT-TROIS",
            given="DOMINIQUE",
            birth_date="1979-03-28",
            gender="female",
            ipp_system=IPP_SYSTEM,
            ipp="1234567890121",
            birth_place="51215",
            birth_city="DOMPREMY",
            qualified=True,
            oid=INS_TEST_NIR_OID,
            ins="279035121518989",
        ),
        {"birth_list_given": "DOMINIQUE MARIE-LOUISE"},
    ),
    # A second qualified identity carrying the production INS-NIR OID (fictitious NIR, valid key).
    (
        PatientData(
            id="pat-durand",
            family="DURAND-TEST",
            given="PIERRE",
            birth_date="1985-07-14",
            gender="male",
            ipp_system=IPP_SYSTEM,
            ipp="1234567890122",
            birth_place="75112",  # Paris 12e: the commune its NIR encodes
            birth_city="PARIS",
            qualified=True,
            oid=INS_NIR_OID,
            ins="1850775112456" + nir_key("1850775112456"),
        ),
        {"birth_list_given": "PIERRE YVES"},
    ),
    # An identity that is not qualified (PROV): its INS is known to nobody and must never be sent.
    (
        PatientData(
            id="pat-provisoire",
            family="PROVISOIRE-TEST",
            given="CAMILLE",
            birth_date="1991-06-02",
            gender="female",
            ipp_system=IPP_SYSTEM,
            ipp="1234567890123",
            birth_place="99999",
            birth_city="INCONNUE",
            qualified=False,
            oid=INS_TEST_NIR_OID,
            ins="2910699123045" + nir_key("2910699123045"),
        ),
        {"birth_list_given": "CAMILLE ANNE"},
    ),
)


def _annuaire_resources() -> tuple[dict, dict, dict]:
    practitioner = read_package_example(ANNUAIRE_PACKAGE, "Practitioner-334081DP")
    organization = read_package_example(ANNUAIRE_PACKAGE, "Organization-158480DP")
    role = read_package_example(ANNUAIRE_PACKAGE, "PractitionerRole-1578230DP")
    # The role example points at the non-"DP" ids; ours serves the DP examples.
    role["practitioner"] = {"reference": f"Practitioner/{practitioner['id']}"}
    role["organization"] = {"reference": f"Organization/{organization['id']}"}
    for resource in (practitioner, organization, role):
        resource["meta"].pop("versionId", None)
        resource["meta"].pop("lastUpdated", None)
    return practitioner, organization, role


ANNUAIRE_SOURCE = "https://annuaire.esante.gouv.fr"
ANNUAIRE_PROFILES = {
    "Practitioner": ("fr-core-practitioner", "as-dp-practitioner"),
    "PractitionerRole": ("fr-core-practitioner-role", "as-dp-practitionerrole"),
    "Organization": ("fr-core-organization", "as-dp-organization"),
}


def conform_annuaire_meta(resource: dict, *, contained: bool) -> dict:
    """The PDSm examples carry Annuaire resources whose meta the Annuaire profiles reject (source
    `https://annuaire.sante.fr`, unversioned canonicals, versionId in contained resources): fix them."""
    names = ANNUAIRE_PROFILES.get(resource.get("resourceType", ""))
    if names is None:
        return resource
    meta = dict(resource.get("meta") or {})
    for key in ("versionId", "lastUpdated") if contained else ():
        meta.pop(key, None)
    meta["source"] = ANNUAIRE_SOURCE
    meta["profile"] = [
        f"{FR_CORE}{names[0]}|2.2.0",
        f"https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/{names[1]}|1.2.0-snapshot-2",
    ]
    resource["meta"] = meta
    _drop_retired_mailbox_metadata(resource)
    return resource


MAILBOX_METADATA = "https://interop.esante.gouv.fr/ig/fhir/annuaire/StructureDefinition/as-ext-mailbox-mss-metadata"
# PDSm 3.1.1 pins Annuaire 1.1.0; Annuaire 1.2.0 (the one we load) no longer defines this sub-extension.
RETIRED_MAILBOX_METADATA = {"digitization"}


def _drop_retired_mailbox_metadata(resource: dict) -> None:
    for telecom in resource.get("telecom", []):
        for extension in telecom.get("extension", []):
            if extension.get("url") == MAILBOX_METADATA:
                extension["extension"] = [
                    sub for sub in extension.get("extension", []) if sub.get("url") not in RETIRED_MAILBOX_METADATA
                ]


def _identifier_value(resource: dict, system: str) -> str:
    return next((i["value"] for i in resource.get("identifier", []) if i.get("system") == system), "")


def build_document_reference(
    template: dict, *, doc_id: str, binary_id: str, patient_id: str, cda: bytes, master_identifier: str, date: str
) -> dict:
    """The PDSm comprehensive DocumentReference example, pointed at our patient and CDA Binary."""
    doc = copy.deepcopy(template)
    doc["contained"] = [conform_annuaire_meta(c, contained=True) for c in doc.get("contained", [])]
    doc["id"] = doc_id
    doc["meta"] = {"profile": [PROFILE_DOCREF]}
    doc["masterIdentifier"] = {"use": "usual", "system": "urn:ietf:rfc:3986", "value": master_identifier}
    doc["identifier"] = [{"use": "official", "system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{doc_id}"}]
    doc["type"] = {
        "coding": [
            {
                "system": "http://loinc.org",
                "code": "18761-7",
                "display": "Note de transfert (dont lettre de liaison à l'entrée en établissement de soins)",
            }
        ]
    }
    doc["subject"] = {"reference": f"Patient/{patient_id}"}
    doc["date"] = date
    doc["author"] = [{"reference": "#practitioner-example"}]
    doc["content"] = [
        {
            "attachment": {
                "contentType": "text/xml",
                "language": "fr-FR",
                "url": f"Binary/{binary_id}",
                "size": len(cda),
                "hash": sha1_base64(cda),
                "title": "Lettre de liaison à l'entrée en établissement de santé",
                "creation": "2019-10-29T11:17:00+01:00",
            },
            "format": {
                "system": "https://mos.esante.gouv.fr/NOS/TRE_A06-FormatCodeComplementaire/FHIR/TRE-A06-FormatCodeComplementaire",
                "code": "urn:asip:ci-sis:ldl-ees:2017",
                "display": "Lettre de Liaison à l'entrée d'un établissement de santé",
            },
        }
    ]
    doc["context"]["period"] = {"start": "2019-10-29T11:17:00+01:00", "end": "2019-10-29T11:17:00+01:00"}
    doc["context"]["sourcePatientInfo"] = {"reference": f"Patient/{patient_id}"}
    return doc


def build_submission_set(template: dict, *, list_id: str, patient_id: str, doc_ids: list[str], date: str) -> dict:
    ss = copy.deepcopy(template)
    ss["contained"] = [conform_annuaire_meta(c, contained=True) for c in ss.get("contained", [])]
    ss["id"] = list_id
    ss["meta"] = {"profile": [PROFILE_SUBMISSIONSET]}
    ss["identifier"] = [
        {"use": "usual", "system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{list_id}"},
        {"use": "official", "system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.250.1.999.1.2.1"},
    ]
    ss["subject"] = {"reference": f"Patient/{patient_id}"}
    ss["date"] = date
    ss["entry"] = [{"item": {"reference": f"DocumentReference/{d}"}} for d in doc_ids]
    return ss


def build_test_data() -> TestData:
    """Everything the reference server seeds; raises TestDataError when the shared reference data cannot be read."""
    resources: dict[str, dict] = {}
    patients = []
    for patient, extras in PATIENTS:
        patients.append(patient)
        resources[f"Patient/{patient.id}"] = build_patient(patient, **extras)

    practitioner, organization, role = _annuaire_resources()
    for resource in (practitioner, organization, role):
        resources[f"{resource['resourceType']}/{resource['id']}"] = resource
    pdsm_org = conform_annuaire_meta(read_package_example(PDSM_PACKAGE, "Organization-org-example"), contained=False)
    resources[f"Organization/{pdsm_org['id']}"] = pdsm_org

    cda = read_cda_example()
    doc_id, binary_id, list_id, patient_id = "doc-ldl-ees-1", "cda-ldl-ees-1", "ss-ldl-ees-1", "pat-trois"
    master = "urn:oid:1.2.250.1.213.1.1.1.21.2022.1.1"  # ClinicalDocument/id of the example CDA
    date = "2019-10-29T11:17:00+01:00"
    doc_template = read_package_example(PDSM_PACKAGE, "DocumentReference-exemple-pdsm-documentreference")
    list_template = read_package_example(PDSM_PACKAGE, "List-ExampleSubmissionSet")
    resources[f"DocumentReference/{doc_id}"] = build_document_reference(
        doc_template,
        doc_id=doc_id,
        binary_id=binary_id,
        patient_id=patient_id,
        cda=cda,
        master_identifier=master,
        date=date,
    )
    resources[f"Binary/{binary_id}"] = {
        "resourceType": "Binary",
        "id": binary_id,
        "contentType": "text/xml",
        "data": base64.b64encode(cda).decode("ascii"),
    }
    resources[f"List/{list_id}"] = build_submission_set(
        list_template, list_id=list_id, patient_id=patient_id, doc_ids=[doc_id], date=date
    )

    document = TestDocument(
        document_reference_id=doc_id,
        binary_id=binary_id,
        submission_set_id=list_id,
        patient_id=patient_id,
        type_system="http://loinc.org",
        type_code="18761-7",
        content_type="text/xml",
        size=len(cda),
        sha1_base64=sha1_base64(cda),
        master_identifier=master,
        date=date,
    )
    return TestData(
        patients=patients,
        practitioner_id=practitioner["id"],
        practitioner_rpps=_identifier_value(practitioner, RPPS_SYSTEM),
        practitioner_idnps=_identifier_value(practitioner, IDNPS_SYSTEM),
        practitioner_role_id=role["id"],
        organization_id=organization["id"],
        organization_finess=_identifier_value(organization, FINESS_SYSTEM),
        organization_idnst=_identifier_value(organization, IDNST_SYSTEM),
        documents=[document],
        resources=resources,
        cda_bytes=cda,
    )
