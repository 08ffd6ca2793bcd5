"""A FHIR R4 server nobody on the product wrote, for measuring what the harness detects.

Written from the FHIR R4 RESTful API pages (http.html: read, vread, search, capabilities, transaction; search.html:
token, string, date and reference parameters, _count and paging; bundle.html: searchset and transaction-response),
FR Core (Patient INS, identity reliability), PDSm (ITI-65/66/67/68) and the Annuaire Santé. Its data are the
guides' own example resources, read from the FHIR packages in the shared folder and given the campaign's test
identities; nothing of conformance.reference (its store, its data, its faults) is used.

`ForeignFhirServer(fault)` serves the clean system, or the clean system with one vendor defect of `FAULTS`.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import tarfile
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape, quoteattr

Json = dict[str, Any]

SHARED = Path(os.environ.get("HOPEN_SHARED_DIR", Path(__file__).resolve().parents[3] / "shared"))
PACKAGES = SHARED / "fhir-packages"
CDA_EXAMPLE = SHARED / "cda" / "TestContenuCDA-3-0" / "ExemplesCDA" / "LDL-EES_2022.01.xml"

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"

# the campaign's test data (tests/foreign/campaign.py writes the same values into [test_data])
INS_OID = "1.2.250.1.213.1.4.10"
INS = "279035121518989"
SECOND_INS = "180127512345642"
RPPS = "10003461033"
FINESS = "754567860"
IPP_SYSTEM = "urn:oid:1.2.250.1.999.1.1"
IPP = "1234567890123"
PATIENT_ID = "pat-1001"

FR_CORE_TYPES = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203"
BIRTH_GIVEN_NAMES = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-birth-list-given-name"
RELIABILITY = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability"

# One realistic vendor defect each; the requirement it breaks (catalogue id) is what a test should report.
FAULTS: dict[str, str] = {
    "search-bundle-collection": "fhir-r4.search.bundle",  # search answers with a collection Bundle
    "count-ignored": "fhir-r4.search.count",  # _count not implemented: every match in one page
    "no-next-link": "fhir-r4.search.paging",  # total > page but no next link
    "total-is-page-size": "fhir-r4.search.paging",  # total counts the page, and no next link
    "next-link-first-page": "fhir-r4.search.paging",  # the next link repeats the first page
    "metadata-stu3": "fhir-r4.capabilities.metadata",  # fhirVersion 3.0.2
    "capability-no-patient-search": "fhir-r4.capabilities.declares-used",  # Patient search not declared
    "capability-bad-status": "fhir-r4.capabilities.valid",  # CapabilityStatement.status 'published'
    "unknown-id-200": "fhir-r4.read.unknown-id",  # read of an unknown id: 200 and an empty Bundle
    "json-plain-media-type": "fhir-r4.formats.json",  # Content-Type application/json
    "read-wrong-id": "fhir-r4.read.id",  # read returns the resource under its internal id
    "no-etag": "fhir-r4.read.etag",
    "if-none-match-ignored": "fhir-r4.read.conditional",  # 200 and the body again instead of 304 (MAY)  # ETag header never sent (SHOULD)
    "ins-system-without-urn": "ins.fhir.search",  # INS identifier system "1.2.250.1.213.1.4.10"
    "token-search-value-only": "ins.fhir.search",  # identifier=system|value finds nothing, value alone works
    "birthdate-search-broken": "fr-core.patient.search-traits",  # birthdate compared with a French date
    "unqualified-with-ins": "ins.fhir.qualified-only",  # a provisional identity served with an INS
    "ins-without-identity-status": "ins.fhir.qualified-only",  # INS served, identity reliability left out
    "patient-gender-f": "fr-core.patient.profile",  # Patient.gender "F" (not in the AdministrativeGender codes)
    "organization-identifier-ignored": "annuaire.organization.search-finess",  # identifier= not applied, one Organization
    "practitioner-no-idnatps": "annuaire.practitioner.search-idnatps",  # idNatPs identifier not indexed
    "role-ignores-practitioner": "annuaire.practitionerrole.search",  # PractitionerRole?practitioner= ignored
    "organization-finess-as-oid": "annuaire.organization.search-finess",  # FINESS under the FINESS OID system
    "organization-bad-telecom": "annuaire.organization.profile",  # telecom.system "tel"
    "docref-hash-hex": "pdsm.iti68.integrity",  # attachment.hash in hexadecimal, not base64 SHA-1
    "docref-size-of-base64": "pdsm.iti68.integrity",  # second document: size of the base64 text
    "docref-second-binary-404": "pdsm.iti68.retrieve",  # the second document's Binary is missing
    "docref-ignores-patient": "pdsm.iti67.find",  # DocumentReference?patient= not applied: every patient's
    "list-ignores-patient": "pdsm.iti66.find",  # List?patient= not applied: another patient's SubmissionSet
    "docref-status-ignored": "pdsm.iti67.status",  # status=current also returns the superseded document
    "docref-type-search-code-only": "pdsm.iti67.search-type",  # type=system|code finds nothing
    "docref-date-search-ignored-prefix": "pdsm.iti67.search-date",  # date=ge... treated as equality
    "docref-date-search-ignored": "pdsm.iti67.search-date",  # date= accepted and not applied
    "docref-no-master-identifier": "pdsm.iti67.profile",  # masterIdentifier missing
    "transaction-batch-response": "pdsm.iti65.response",  # ITI-65 answered with a batch-response
    "transaction-not-stored": "pdsm.iti65.stored",  # ITI-65 locations that do not read back
}


# ---------------------------------------------------------------------------------------------- the guides' data


def _examples(package: str) -> dict[str, Json]:
    """The example resources of a FHIR package (tgz in the shared folder), by file name."""
    found: dict[str, Json] = {}
    with tarfile.open(PACKAGES / f"{package}.tgz") as archive:
        for member in archive.getmembers():
            if member.isfile() and member.name.startswith("package/example/") and member.name.endswith(".json"):
                handle = archive.extractfile(member)
                if handle is not None:
                    found[member.name.rsplit("/", 1)[-1]] = json.loads(handle.read())
    return found


def _capability(package: str, name: str) -> Json:
    with tarfile.open(PACKAGES / f"{package}.tgz") as archive:
        handle = archive.extractfile(f"package/{name}")
        assert handle is not None
        return json.loads(handle.read())


def _clean(resource: Json, rid: str) -> Json:
    item = copy.deepcopy(resource)
    item.pop("text", None)
    item["id"] = rid
    meta = item.setdefault("meta", {})
    meta["versionId"] = "1"
    meta["lastUpdated"] = "2026-11-02T09:00:00+01:00"
    return item


def _sha1(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")


def _identity(status: str) -> Json:
    return {
        "url": RELIABILITY,
        "extension": [
            {"url": "identityStatus", "valueCoding": {"system": f"{FR_CORE_TYPES[:-4]}0445", "code": status}}
        ],
    }


def _patients(fault: str | None) -> list[Json]:
    core = _examples("hl7.fhir.fr.core-2.2.0")
    base = core["Patient-FRCorePatientExample.json"]
    ins_system = INS_OID if fault == "ins-system-without-urn" else f"urn:oid:{INS_OID}"

    def qualified(rid: str, ins: str, family: str, given: str, birth: str, gender: str, insee: str) -> Json:
        patient = _clean(base, rid)
        patient["identifier"] = [
            {
                "use": "official",
                "type": {"coding": [{"system": FR_CORE_TYPES, "code": "INS-NIR-TEST"}]},
                "system": ins_system,
                "value": ins,
            }
        ]
        patient["name"] = [
            {
                "extension": [{"url": BIRTH_GIVEN_NAMES, "valueString": given}],
                "use": "official",
                "family": family,
                "given": [given],
            }
        ]
        patient["birthDate"] = birth
        patient["gender"] = gender
        place = patient["extension"][0]["valueAddress"]
        place["extension"][0]["valueCoding"]["code"] = insee
        place["city"] = "Reims"
        return patient

    first = qualified(PATIENT_ID, INS, "PAT-TROIS", "DOMINIQUE", "1979-03-28", "female", "51215")
    if fault == "patient-gender-f":
        first["gender"] = "F"
    if fault == "ins-without-identity-status":
        first["extension"] = [e for e in first["extension"] if e.get("url") != RELIABILITY]
    second = qualified("pat-1002", SECOND_INS, "PAT-UN", "JEAN", "1980-12-01", "male", "75112")
    provisional = _clean(base, "pat-1003")
    provisional["identifier"] = [
        {"use": "usual", "type": {"coding": [{"system": FR_CORE_TYPES, "code": "PI"}]}, "system": IPP_SYSTEM,
         "value": IPP}
    ]  # fmt: skip
    if fault == "unqualified-with-ins":
        provisional["identifier"].append(
            {"use": "official", "type": {"coding": [{"system": FR_CORE_TYPES, "code": "INS-NIR-TEST"}]},
             "system": f"urn:oid:{INS_OID}", "value": "291061234567893"}
        )  # fmt: skip
    provisional["meta"]["profile"] = ["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient"]
    provisional["extension"] = [_identity("PROV")]
    provisional["name"] = [{"use": "usual", "family": "PROVISOIRE", "given": ["CAMILLE"]}]
    provisional["birthDate"] = "1991-06-12"
    provisional["gender"] = "other"
    provisional.pop("contact", None)
    return [first, second, provisional]


def _directory(fault: str | None) -> list[Json]:
    annuaire = _examples("ans.fhir.fr.annuaire-1.2.0-snapshot-2")
    practitioner = _clean(annuaire["Practitioner-334081DP.json"], "334081")
    other = _clean(annuaire["Practitioner-3719500DP.json"], "3719500")
    if fault == "practitioner-no-idnatps":
        practitioner["identifier"] = [i for i in practitioner["identifier"] if "1.2.250.1.71.4.2.1" not in i["system"]]
    role = _clean(annuaire["PractitionerRole-1578230DP.json"], "1578230")
    role["practitioner"] = {"reference": "Practitioner/334081"}
    role["organization"] = {"reference": "Organization/158480"}
    other_role = _clean(annuaire["PractitionerRole-1738459DP.json"], "1738459")
    other_role["practitioner"] = {"reference": "Practitioner/3719500"}
    other_role["organization"] = {"reference": "Organization/158480"}
    organization = _clean(annuaire["Organization-158480DP.json"], "158480")
    if fault == "organization-finess-as-oid":
        for identifier in organization["identifier"]:
            if identifier["system"] == "https://finess.esante.gouv.fr":
                identifier["system"] = "urn:oid:1.2.250.1.71.4.2.2"
    if fault == "organization-bad-telecom":
        organization["telecom"][0]["system"] = "tel"
    return [practitioner, other, role, other_role, organization]


def _contained(resource: Json, rid: str) -> Json:
    item = copy.deepcopy(resource)
    item.pop("text", None)
    item["id"] = rid
    for key in ("versionId", "lastUpdated"):  # dom-4
        item.get("meta", {}).pop(key, None)
    return item


def _documents(fault: str | None) -> tuple[list[Json], dict[str, bytes]]:
    """The PDSm examples; their contained author and organisation are the Annuaire's own DP examples (those
    the PDSm package carries predate the Annuaire version it depends on)."""
    pdsm = _examples("ans.fhir.fr.pdsm-3.1.1")
    annuaire = _examples("ans.fhir.fr.annuaire-1.2.0-snapshot-2")
    author = _contained(annuaire["Practitioner-334081DP.json"], "auteur")
    cda = CDA_EXAMPLE.read_bytes()
    binaries: dict[str, bytes] = {}
    resources: list[Json] = []
    dates = ("2026-10-20T10:00:00+01:00", "2026-09-14T16:30:00+01:00", "2026-08-02T11:00:00+01:00")
    owners = (PATIENT_ID, PATIENT_ID, "pat-1002")  # the third document is another patient's
    for index, (status, date, owner) in enumerate(
        zip(("current", "superseded", "current"), dates, owners, strict=True)
    ):
        doc = _clean(pdsm["DocumentReference-exemple-pdsm-documentreference.json"], f"doc-{index + 1}")
        doc["masterIdentifier"]["value"] = f"urn:uuid:{uuid.UUID(int=0xA11CE + index)}"
        doc["status"] = status
        doc["subject"] = {"reference": f"Patient/{owner}"}
        doc["context"]["sourcePatientInfo"] = {"reference": f"Patient/{owner}"}
        doc["contained"] = [author]
        doc["author"] = [{"reference": "#auteur"}]
        doc["authenticator"] = {"reference": "Organization/158480"}
        doc["custodian"] = {"reference": "Organization/158480"}
        doc["date"] = date
        doc["type"]["coding"][0].update(code="11502-2", display="CR d'examens biologiques")
        content = cda
        attachment = doc["content"][0]["attachment"]
        attachment.update(contentType="text/xml", url=f"Binary/bin-{index + 1}", size=len(content))
        attachment["hash"] = hashlib.sha1(content).hexdigest() if fault == "docref-hash-hex" else _sha1(content)
        if fault == "docref-size-of-base64" and index == 1:
            attachment["size"] = len(base64.b64encode(content))
        doc["content"][0]["format"]["code"] = "urn:ihe:lab:xd-lab:2008"
        if fault == "docref-no-master-identifier":
            doc.pop("masterIdentifier")
        if not (fault == "docref-second-binary-404" and index == 1):
            binaries[f"bin-{index + 1}"] = content
        resources.append(doc)
    submission = _clean(pdsm["List-ExampleSubmissionSet.json"], "ss-1")
    submission["subject"] = {"reference": f"Patient/{PATIENT_ID}"}
    submission["entry"] = [{"item": {"reference": "DocumentReference/doc-1"}}]
    role = _contained(annuaire["PractitionerRole-1578230DP.json"], "practitionerrole-example")
    role["practitioner"] = {"reference": "Practitioner/334081"}
    role["organization"] = {"reference": "#org-example"}
    submission["contained"] = [role, _contained(annuaire["Organization-158480DP.json"], "org-example")]
    resources.append(submission)
    other = copy.deepcopy(submission)
    other["id"] = "ss-2"
    other["subject"] = {"reference": "Patient/pat-1002"}
    other["entry"] = [{"item": {"reference": "DocumentReference/doc-3"}}]
    for number, identifier in enumerate(other.get("identifier", [])):
        identifier["value"] = f"urn:uuid:{uuid.UUID(int=0x55E7 + number)}"
    resources.append(other)
    return resources, binaries


def _capability_statement(fault: str | None) -> Json:
    """What the server does, in the words of the national guides' server statements (their interactions)."""
    guides = [
        _capability("ans.fhir.fr.pdsm-3.1.1", "CapabilityStatement-PDSm-GestionnaireDePartageDeDocuments.json"),
        _capability("ans.fhir.fr.annuaire-1.2.0-snapshot-2", "CapabilityStatement-AsServerDPCapabilityStatement.json"),
    ]
    params = {
        "Patient": [("identifier", "token"), ("family", "string"), ("birthdate", "date"), ("_id", "token")],
        "Practitioner": [("identifier", "token")],
        "PractitionerRole": [("practitioner", "reference")],
        "Organization": [("identifier", "token")],
        "DocumentReference": [("patient", "reference"), ("status", "token"), ("type", "token"), ("date", "date")],
        "List": [("patient", "reference"), ("code", "token")],
        "Binary": [],
    }
    interactions: dict[str, set[str]] = {rtype: {"read", "vread", "search-type"} for rtype in params}
    interactions["Binary"] = {"read"}
    for guide in guides:
        for rest in guide.get("rest", []):
            for res in rest.get("resource", []):
                if res["type"] in interactions:
                    interactions[res["type"]] |= {i["code"] for i in res.get("interaction", [])}
    if fault == "capability-no-patient-search":
        interactions["Patient"].discard("search-type")
        params["Patient"] = []
    resources = []
    for rtype in sorted(params):
        entry: Json = {"type": rtype, "interaction": [{"code": code} for code in sorted(interactions[rtype])]}
        if params[rtype] and "search-type" in interactions[rtype]:
            entry["searchParam"] = [{"name": n, "type": t} for n, t in params[rtype]]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "id": "foreign-sih",
        "status": "published" if fault == "capability-bad-status" else "active",
        "date": "2026-11-02",
        "publisher": "Editeur Tiers SIH",
        "kind": "instance",
        "software": {"name": "Tiers SIH FHIR", "version": "4.2"},
        "implementation": {"description": "SIH de test (serveur tiers)"},
        "fhirVersion": "3.0.2" if fault == "metadata-stu3" else "4.0.1",
        "format": ["json", "xml"],
        "rest": [
            {
                "mode": "server",
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
            }
        ],
    }


# ---------------------------------------------------------------------------------------------- XML (http.html#mime-type)


def to_xml(resource: Json) -> bytes:
    """FHIR XML of a JSON resource (xml.html: primitives in value attributes, arrays as repeated elements)."""
    out: list[str] = []

    def element(name: str, value: Any, shadow: Json | None = None) -> None:
        if isinstance(value, dict):
            attrs = ""
            if "url" in value and name in ("extension", "modifierExtension"):
                attrs = f" url={quoteattr(str(value['url']))}"
            out.append(f"<{name}{attrs}>")
            for key, item in value.items():
                if key.startswith("_") or (key == "url" and attrs):
                    continue
                children(key, item, value.get(f"_{key}"))
            out.append(f"</{name}>")
        else:
            text = json.dumps(value) if isinstance(value, bool) else str(value)
            out.append(f"<{name} value={quoteattr(text)}/>")

    def children(key: str, item: Any, shadow: Any) -> None:
        for one in item if isinstance(item, list) else [item]:
            if key == "resourceType":
                continue
            if isinstance(one, dict) and "resourceType" in one:
                out.append(f"<{key}>")
                root(one)
                out.append(f"</{key}>")
            else:
                element(key, one)

    def root(res: Json) -> None:
        out.append(f'<{res["resourceType"]} xmlns="http://hl7.org/fhir">')
        for key, item in res.items():
            if key != "resourceType" and not key.startswith("_"):
                children(key, item, None)
        out.append(f"</{res['resourceType']}>")

    root(resource)
    return ('<?xml version="1.0" encoding="UTF-8"?>' + "".join(out)).encode("utf-8")


# ---------------------------------------------------------------------------------------------- the server


def _outcome(severity: str, code: str, text: str) -> Json:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": escape(text)}],
    }


@dataclass
class Store:
    fault: str | None
    resources: dict[tuple[str, str], Json] = field(default_factory=dict)
    binaries: dict[str, bytes] = field(default_factory=dict)
    capability: Json = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def seeded(cls, fault: str | None) -> Store:
        store = cls(fault)
        documents, store.binaries = _documents(fault)
        for item in [*_patients(fault), *_directory(fault), *documents]:
            store.resources[(item["resourceType"], item["id"])] = item
        store.capability = _capability_statement(fault)
        return store

    def of_type(self, rtype: str) -> list[Json]:
        with self.lock:
            return [r for (t, _), r in sorted(self.resources.items()) if t == rtype]


def _token_match(resource_tokens: list[tuple[str | None, str | None]], token: str, value_only: bool) -> bool:
    if "|" in token:
        system, code = token.split("|", 1)
        if value_only:
            return False
        return any((not system or s == system) and c == code for s, c in resource_tokens)
    return any(c == token for _, c in resource_tokens)


def _identifiers(resource: Json) -> list[tuple[str | None, str | None]]:
    return [(i.get("system"), i.get("value")) for i in resource.get("identifier") or [] if isinstance(i, dict)]


def _codings(concept: Json | None) -> list[tuple[str | None, str | None]]:
    return [(c.get("system"), c.get("code")) for c in (concept or {}).get("coding") or []]


def _reference_match(reference: str | None, wanted: str, rtype: str) -> bool:
    if not reference:
        return False
    wanted = wanted if "/" in wanted else f"{rtype}/{wanted}"
    return reference == wanted or reference.endswith(f"/{wanted}")


def _date_match(value: str | None, criterion: str, ignore_prefix: bool) -> bool:
    if not value:
        return False
    prefix, date = (
        (criterion[:2], criterion[2:]) if criterion[:2] in ("eq", "ge", "le", "gt", "lt") else ("eq", criterion)
    )
    day = value[:10]
    if ignore_prefix:
        prefix = "eq"
    return {
        "eq": day == date[:10],
        "ge": day >= date[:10],
        "le": day <= date[:10],
        "gt": day > date[:10],
        "lt": day < date[:10],
    }[prefix]


class Handler(BaseHTTPRequestHandler):
    server_version = "TiersSIH/4.2"
    protocol_version = "HTTP/1.1"
    store: Store
    base: str

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # ------------------------------------------------------------------ plumbing

    @property
    def fault(self) -> str | None:
        return self.store.fault

    def _wants_xml(self, query: dict[str, str]) -> bool:
        fmt = query.get("_format", "")
        return fmt in ("xml", "application/fhir+xml", "text/xml", "application/xml") or (
            not fmt and "xml" in (self.headers.get("Accept") or "") and "json" not in (self.headers.get("Accept") or "")
        )

    def _send(self, status: int, resource: Json | None, query: dict[str, str] | None = None,
              headers: dict[str, str] | None = None) -> None:  # fmt: skip
        if resource is not None and self._wants_xml(query or {}):
            body, media = to_xml(resource), FHIR_XML
        elif resource is not None:
            body = json.dumps(resource, ensure_ascii=False).encode("utf-8")
            media = "application/json" if self.fault == "json-plain-media-type" else FHIR_JSON
        else:
            body, media = b"", FHIR_JSON
        self.send_response(status)
        self.send_header("Content-Type", f"{media};charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str, text: str, query: dict[str, str] | None = None) -> None:
        self._send(status, _outcome("error", code, text), query)

    def _route(self) -> tuple[list[str], dict[str, str], list[tuple[str, str]]]:
        url = urlsplit(self.path)
        path = url.path
        prefix = urlsplit(self.base).path
        if not path.startswith(prefix):
            return [], {}, []
        pairs = parse_qsl(url.query, keep_blank_values=True)
        return [p for p in path[len(prefix) :].split("/") if p], dict(pairs), pairs

    # ------------------------------------------------------------------ GET

    def do_GET(self) -> None:
        parts, query, pairs = self._route()
        try:
            if parts == ["metadata"]:
                return self._send(200, self.store.capability, query)
            if len(parts) == 1:
                return self._search(parts[0], query, pairs)
            if len(parts) == 2 and parts[0] == "Binary":
                return self._binary(parts[1])
            if len(parts) == 2:
                return self._read(parts[0], parts[1], query)
            if len(parts) == 4 and parts[2] == "_history":
                return self._read(parts[0], parts[1], query, version=parts[3])
            return self._error(404, "not-found", "ressource inconnue")
        except (KeyError, ValueError) as exc:
            return self._error(400, "invalid", f"requête invalide : {exc}")

    def _binary(self, bid: str) -> None:
        content = self.store.binaries.get(bid)
        if content is None:
            return self._error(404, "not-found", f"Binary/{bid} inconnu")
        accept = self.headers.get("Accept") or ""
        if FHIR_JSON in accept:
            data = {"resourceType": "Binary", "id": bid, "contentType": "text/xml",
                    "data": base64.b64encode(content).decode("ascii")}  # fmt: skip
            return self._send(200, data)
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _read(self, rtype: str, rid: str, query: dict[str, str], version: str | None = None) -> None:
        with self.store.lock:
            resource = self.store.resources.get((rtype, rid))
        if resource is None:
            if self.fault == "unknown-id-200":
                return self._send(200, {"resourceType": "Bundle", "type": "searchset", "total": 0}, query)
            return self._error(404, "not-found", f"{rtype}/{rid} inconnu", query)
        current = str(resource.get("meta", {}).get("versionId", "1"))
        if version is not None and version != current:
            return self._error(404, "not-found", f"version {version} inconnue", query)
        etag = f'W/"{current}"'
        conditional = self.fault != "if-none-match-ignored"
        if conditional and version is None and self.headers.get("If-None-Match", "").strip() == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        served = resource
        if self.fault == "read-wrong-id" and rtype == "Patient":
            served = {**resource, "id": f"{abs(hash(rid)) % 100000}"}
        headers = {} if self.fault == "no-etag" else {"ETag": etag}
        headers["Last-Modified"] = "Mon, 02 Nov 2026 08:00:00 GMT"
        return self._send(200, served, query, headers)

    # ------------------------------------------------------------------ search (search.html)

    KNOWN: ClassVar[dict[str, set[str]]] = {
        "Patient": {"identifier", "family", "birthdate", "_id"},
        "Practitioner": {"identifier", "_id"},
        "PractitionerRole": {"practitioner", "_id"},
        "Organization": {"identifier", "_id"},
        "DocumentReference": {"patient", "status", "type", "date", "_id"},
        "List": {"patient", "code", "_id"},
    }
    CONTROL: ClassVar[set[str]] = {"_count", "_offset", "_format", "_total"}

    def _matches(self, rtype: str, resource: Json, name: str, value: str) -> bool:
        fault = self.fault
        if name == "_id":
            return resource.get("id") in value.split(",")
        if name == "identifier":
            if (fault, rtype) == ("organization-identifier-ignored", "Organization"):
                return True
            return _token_match(_identifiers(resource), value, fault == "token-search-value-only")
        if name == "family":
            return any(str(n.get("family", "")).lower().startswith(value.lower()) for n in resource.get("name") or [])
        if name == "birthdate":
            if fault == "birthdate-search-broken":
                day = resource.get("birthDate", "")
                return "/".join(reversed(day.split("-"))) == value
            return _date_match(resource.get("birthDate"), value, False)
        if name == "practitioner":
            if fault == "role-ignores-practitioner":
                return True
            return _reference_match((resource.get("practitioner") or {}).get("reference"), value, "Practitioner")
        if name == "patient":
            if (fault, rtype) in (("docref-ignores-patient", "DocumentReference"), ("list-ignores-patient", "List")):
                return True
            return _reference_match((resource.get("subject") or {}).get("reference"), value, "Patient")
        if name == "status":
            if fault == "docref-status-ignored":
                return True
            return resource.get("status") in value.split(",")
        if name == "type":
            codings = _codings(resource.get("type"))
            return _token_match(codings, value, fault == "docref-type-search-code-only")
        if name == "date":
            if fault == "docref-date-search-ignored":
                return True
            return _date_match(resource.get("date"), value, fault == "docref-date-search-ignored-prefix")
        if name == "code":
            return _token_match(_codings(resource.get("code")), value, False)
        return False

    def _search(self, rtype: str, query: dict[str, str], pairs: list[tuple[str, str]]) -> None:
        known = self.KNOWN.get(rtype)
        if known is None:
            return self._error(404, "not-supported", f"type {rtype} non pris en charge", query)
        unknown = [n for n, _ in pairs if n not in known and n not in self.CONTROL]
        strict = "handling=strict" in (self.headers.get("Prefer") or "")
        if unknown and strict:
            return self._error(400, "not-supported", f"paramètre inconnu : {', '.join(unknown)}", query)
        criteria = [(n, v) for n, v in pairs if n in known]
        found = [r for r in self.store.of_type(rtype) if all(self._matches(rtype, r, n, v) for n, v in criteria)]
        count = int(query.get("_count") or 50)
        if self.fault == "count-ignored":
            count = max(len(found), 1)
        offset = int(query.get("_offset") or 0)
        if self.fault == "next-link-first-page":
            offset = 0
        page = found[offset : offset + count]
        kept = "&".join(f"{n}={v}" for n, v in pairs if n in known or n == "_count")
        self_url = f"{self.base}/{rtype}?{kept}" if kept else f"{self.base}/{rtype}"
        links = [{"relation": "self", "url": self_url + (f"&_offset={offset}" if offset else "")}]
        paging_broken = self.fault in ("no-next-link", "total-is-page-size")
        if offset + count < len(found) and not paging_broken:
            links.append({"relation": "next", "url": f"{self.base}/{rtype}?{kept}&_offset={offset + count}"})
        bundle = {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "meta": {"lastUpdated": datetime.now(UTC).isoformat(timespec="seconds")},
            "type": "collection" if self.fault == "search-bundle-collection" else "searchset",
            "total": len(page) if self.fault == "total-is-page-size" else len(found),
            "link": links,
            "entry": [
                {"fullUrl": f"{self.base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                for r in page
            ],
        }
        if self.fault == "search-bundle-collection":
            for entry in bundle["entry"]:
                entry.pop("search")
            bundle.pop("total")
        return self._send(200, bundle, query)

    # ------------------------------------------------------------------ POST [base]: transaction (ITI-65)

    def do_POST(self) -> None:
        parts, _, _ = self._route()
        length = int(self.headers.get("Content-Length") or 0)
        if length > 20_000_000:
            return self._error(413, "too-costly", "requête trop volumineuse")
        raw = self.rfile.read(length)
        if parts:
            return self._error(405, "not-supported", "seule la transaction [base] est acceptée")
        try:
            bundle = json.loads(raw)
        except ValueError:
            return self._error(400, "structure", "JSON illisible")
        if not isinstance(bundle, dict) or bundle.get("type") != "transaction":
            return self._error(400, "invalid", "un Bundle de type transaction est attendu")
        return self._transaction(bundle)

    def _transaction(self, bundle: Json) -> None:
        entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
        assigned: dict[str, str] = {}
        for entry in entries:
            rtype = (entry.get("resource") or {}).get("resourceType", "")
            assigned[entry.get("fullUrl", "")] = f"{rtype}/{uuid.uuid4().hex[:16]}"

        def rewrite(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: rewrite(v) for k, v in value.items()}
            if isinstance(value, list):
                return [rewrite(v) for v in value]
            if isinstance(value, str) and value in assigned:
                return assigned[value]
            return value

        answers = []
        for entry in entries:
            resource = rewrite(copy.deepcopy(entry.get("resource") or {}))
            location = assigned[entry.get("fullUrl", "")]
            rtype, rid = location.split("/")
            resource["id"] = rid
            resource.setdefault("meta", {})["versionId"] = "1"
            if self.fault != "transaction-not-stored":
                with self.store.lock:
                    if rtype == "Binary":
                        self.store.binaries[rid] = base64.b64decode(resource.get("data") or "")
                    self.store.resources[(rtype, rid)] = resource
            answers.append(
                {"response": {"status": "201 Created", "location": f"{location}/_history/1", "etag": 'W/"1"'}}
            )
        reply = {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": "batch-response" if self.fault == "transaction-batch-response" else "transaction-response",
            "entry": answers,
        }
        return self._send(200, reply)

    def do_PUT(self) -> None:
        self._error(405, "not-supported", "mise à jour non prise en charge")

    do_DELETE = do_PUT


class ForeignFhirServer:
    """`with ForeignFhirServer(fault) as server:` serves at server.base_url until the block ends."""

    def __init__(self, fault: str | None = None, host: str = "127.0.0.1") -> None:
        if fault is not None and fault not in FAULTS:
            raise KeyError(fault)
        self.fault = fault
        store = Store.seeded(fault)
        handler = type("BoundHandler", (Handler,), {"store": store, "base": ""})
        self.httpd = ThreadingHTTPServer((host, 0), handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://{host}:{self.httpd.server_address[1]}/fhir"
        handler.base = self.base_url
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="foreign-fhir", daemon=True)

    @staticmethod
    def available() -> bool:
        return CDA_EXAMPLE.is_file() and all(
            (PACKAGES / f"{name}.tgz").is_file()
            for name in ("hl7.fhir.fr.core-2.2.0", "ans.fhir.fr.pdsm-3.1.1", "ans.fhir.fr.annuaire-1.2.0-snapshot-2")
        )

    def __enter__(self) -> ForeignFhirServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
