"""Where the seeded faults act in the FHIR server: one hook class per fault, each overriding the hook points of
`FhirFault` it needs (every default is the conformant behaviour). The registry (`reference/faults.py`) names each
fault, says what it breaks and points at its class here; `FaultHooks` calls the active faults' hooks in turn.

Hook points, in the order a request meets them: `seed` (the data as the faulty system holds it), `negotiates`,
`search_query`, `strict`, `page`, `links`, `outgoing` (every resource on its way out), `read` (the resource a
read returns), `etags`, `vreads`, `capability`, `transaction_response`, `error_response`, `content_type` (of
every resource sent).
"""

from __future__ import annotations

import base64
import copy
import html
import uuid
from collections.abc import Iterable

from conformance.identifiers import FINESS_SYSTEM, FR_CORE_V2_0203, IDNPS_SYSTEM, INS_ARC, RPPS_SYSTEM, bare_oid, urn
from conformance.reference.fhir.exchange import HttpError, Response, operation_outcome
from conformance.reference.fhir.negotiation import FHIR_JSON
from conformance.reference.fhir_store import Resource
from conformance.reference.test_data import TestData

Query = list[tuple[str, str]]


class FhirFault:
    """The conformant behaviour at every hook point; a fault overrides the points where it acts."""

    def seed(self, resources: list[Resource], test_data: TestData) -> None:
        """Change the seeded resources in place (searches then see the fault too)."""

    def negotiates(self) -> bool:
        """Whether the response format follows `_format` and Accept (False: always JSON)."""
        return True

    def search_query(self, rtype: str, query: Query) -> Query:
        return query

    def strict(self, strict: bool) -> bool:
        """Whether `Prefer: handling=strict` is honoured for this search."""
        return strict

    def page(self, count: int, offset: int, total: int) -> tuple[int, int]:
        return count, offset

    def links(self, links: list[dict], base_url: str) -> list[dict]:
        return links

    def outgoing(self, resource: Resource) -> Resource:
        """Every resource on its way out (read, vread, search, history, writes), also what clients created."""
        return resource

    def read(self, resource: Resource) -> Resource:
        """The resource a read (GET [type]/[id]) returns."""
        return resource

    def etags(self) -> bool:
        """Whether reads carry an ETag and honour If-None-Match / If-Modified-Since."""
        return True

    def vreads(self) -> bool:
        """Whether `[type]/[id]/_history/[vid]` is served."""
        return True

    def capability(self, statement: Resource) -> None:
        """Change the CapabilityStatement in place."""

    def content_type(self, content_type: str) -> str:
        """The Content-Type of a resource sent."""
        return content_type

    def transaction_response(self, bundle: Resource) -> None:
        """Change a transaction's response Bundle in place."""

    def error_response(self, error: HttpError) -> Response | None:
        """Another answer than an OperationOutcome for this error (None: the OperationOutcome)."""
        return None


class FaultHooks:
    """The active faults' hooks, called in turn (each sees what the previous one returned)."""

    def __init__(self, faults: Iterable[FhirFault] = ()) -> None:
        self.faults = tuple(faults)

    def seed(self, resources: Iterable[Resource], test_data: TestData) -> list[Resource]:
        out = copy.deepcopy(list(resources))
        for fault in self.faults:
            fault.seed(out, test_data)
        return out

    def negotiates(self) -> bool:
        return all(f.negotiates() for f in self.faults)

    def search_query(self, rtype: str, query: Query) -> Query:
        for fault in self.faults:
            query = fault.search_query(rtype, query)
        return query

    def strict(self, strict: bool) -> bool:
        for fault in self.faults:
            strict = fault.strict(strict)
        return strict

    def page(self, count: int, offset: int, total: int) -> tuple[int, int]:
        for fault in self.faults:
            count, offset = fault.page(count, offset, total)
        return count, offset

    def links(self, links: list[dict], base_url: str) -> list[dict]:
        for fault in self.faults:
            links = fault.links(links, base_url)
        return links

    def outgoing(self, resource: Resource) -> Resource:
        for fault in self.faults:
            resource = fault.outgoing(resource)
        return resource

    def read(self, resource: Resource) -> Resource:
        for fault in self.faults:
            resource = fault.read(resource)
        return resource

    def etags(self) -> bool:
        return all(f.etags() for f in self.faults)

    def vreads(self) -> bool:
        return all(f.vreads() for f in self.faults)

    def content_type(self, content_type: str) -> str:
        for fault in self.faults:
            content_type = fault.content_type(content_type)
        return content_type

    def capability(self, statement: Resource) -> Resource:
        for fault in self.faults:
            fault.capability(statement)
        return statement

    def transaction_response(self, bundle: Resource) -> Resource:
        for fault in self.faults:
            fault.transaction_response(bundle)
        return bundle

    def error_response(self, error: HttpError) -> Response | None:
        for fault in self.faults:
            answer = fault.error_response(error)
            if answer is not None:
                return answer
        return None


def _of_type(resources: list[Resource], rtype: str) -> list[Resource]:
    return [r for r in resources if r.get("resourceType") == rtype]


def _without_identifier(resource: Resource, system: str) -> None:
    resource["identifier"] = [i for i in resource.get("identifier", []) if i.get("system") != system]


def _searched_on(query: Query, searched: str, instead: str) -> Query:
    """The query as a server indexing the parameter `searched` on the element of `instead` runs it."""
    return [(instead + name[len(searched) :] if name.partition(":")[0] == searched else name, v) for name, v in query]


def _resource_entry(statement: Resource, rtype: str) -> dict:
    return next(r for r in statement["rest"][0]["resource"] if r["type"] == rtype)


# -- identity


class InsWrongOid(FhirFault):
    def seed(self, resources: list[Resource], test_data: TestData) -> None:
        for patient in _of_type(resources, "Patient"):
            for identifier in patient.get("identifier", []):
                system = identifier.get("system", "")
                if system.startswith(urn(INS_ARC)):
                    identifier["system"] = bare_oid(system)


class InsUnqualified(FhirFault):
    def seed(self, resources: list[Resource], test_data: TestData) -> None:
        unqualified = {p.id: p for p in test_data.patients if not p.qualified and p.ins}
        for patient in _of_type(resources, "Patient"):
            p = unqualified.get(patient["id"])
            if p is not None:
                ins = {
                    "use": "official",
                    "type": {"coding": [{"system": FR_CORE_V2_0203, "code": "INS-NIR-TEST"}]},
                    "system": p.ins_system,
                    "value": p.ins,
                }
                patient["identifier"].insert(0, ins)


class PatientFamilyOnGiven(FhirFault):
    def search_query(self, rtype: str, query: Query) -> Query:
        return _searched_on(query, "family", "given") if rtype == "Patient" else query


class PatientProfileInvalid(FhirFault):
    def seed(self, resources: list[Resource], test_data: TestData) -> None:
        for patient in _of_type(resources, "Patient"):
            patient.pop("extension", None)
            for name in patient.get("name", []):
                name.pop("extension", None)


# -- capabilities


class CapabilityMissingInteraction(FhirFault):
    def capability(self, statement: Resource) -> None:
        entry = _resource_entry(statement, "DocumentReference")
        entry["interaction"] = [i for i in entry["interaction"] if i["code"] != "search-type"]


class CapabilityStatementInvalid(FhirFault):
    def capability(self, statement: Resource) -> None:
        statement["status"] = "enabled"  # not a PublicationStatus code (required binding)


class CapabilityUndeclaredSearch(FhirFault):
    def capability(self, statement: Resource) -> None:
        _resource_entry(statement, "Patient").pop("searchParam", None)


class MetadataNotR4(FhirFault):
    def capability(self, statement: Resource) -> None:
        statement["fhirVersion"] = "3.0.1"


# -- REST


class ReadWrongId(FhirFault):
    def read(self, resource: Resource) -> Resource:
        return {**resource, "id": f"{resource.get('id')}-autre"}


class VersionIdMissing(FhirFault):
    def outgoing(self, resource: Resource) -> Resource:
        meta = {k: v for k, v in (resource.get("meta") or {}).items() if k != "versionId"}
        return {**resource, "meta": meta}


class EtagMissing(FhirFault):
    def etags(self) -> bool:
        return False


class PagingBroken(FhirFault):
    def links(self, links: list[dict], base_url: str) -> list[dict]:
        return [
            {**link, "url": f"{base_url}/_page/{uuid.uuid4()}"} if link["relation"] == "next" else link
            for link in links
        ]


class CountIgnored(FhirFault):
    def page(self, count: int, offset: int, total: int) -> tuple[int, int]:
        return max(total, 1), 0

    def links(self, links: list[dict], base_url: str) -> list[dict]:
        return [link for link in links if link["relation"] == "self"]


class StrictIgnored(FhirFault):
    def strict(self, strict: bool) -> bool:
        return False


class VreadUnsupported(FhirFault):
    def vreads(self) -> bool:
        return False


class UnknownId400(FhirFault):
    def error_response(self, error: HttpError) -> Response | None:
        if error.status != 404 or error.code != "not-found":
            return None
        return Response(400, operation_outcome("not-found", error.message), error.headers)


class JsonMediaTypeWrong(FhirFault):
    def content_type(self, content_type: str) -> str:
        return content_type.replace(FHIR_JSON, "application/json")


class ErrorsHtml(FhirFault):
    def error_response(self, error: HttpError) -> Response | None:
        page = (
            f"<html><head><title>{error.status} Error</title></head>"
            f"<body><h1>Error {error.status}</h1><p>{html.escape(error.message)}</p></body></html>"
        )
        return Response(error.status, headers=error.headers, body=page.encode(), content_type="text/html;charset=utf-8")


class XmlUnsupported(FhirFault):
    def negotiates(self) -> bool:
        return False


# -- documents


class DocrefInvalid(FhirFault):
    def outgoing(self, resource: Resource) -> Resource:
        if resource.get("resourceType") != "DocumentReference":
            return resource
        return {k: v for k, v in resource.items() if k not in ("date", "custodian")}


class DocrefSecondBad(FhirFault):
    def seed(self, resources: list[Resource], test_data: TestData) -> None:
        documents = _of_type(resources, "DocumentReference")
        if len(documents) > 1:
            documents[1].pop("custodian", None)


class DocrefStatusFilterIgnored(FhirFault):
    def search_query(self, rtype: str, query: Query) -> Query:
        if rtype != "DocumentReference":
            return query
        return [(name, value) for name, value in query if name.partition(":")[0] != "status"]


class DocrefTypeOnCategory(FhirFault):
    def search_query(self, rtype: str, query: Query) -> Query:
        return _searched_on(query, "type", "category") if rtype == "DocumentReference" else query


_INVERSE_PREFIX = {"ge": "lt", "gt": "le", "le": "gt", "lt": "ge"}


class DocrefDatePrefixInverted(FhirFault):
    def search_query(self, rtype: str, query: Query) -> Query:
        if rtype != "DocumentReference":
            return query
        return [
            (name, _INVERSE_PREFIX.get(value[:2], value[:2]) + value[2:] if name == "date" else value)
            for name, value in query
        ]


class SubmissionSetCodeWrong(FhirFault):
    def seed(self, resources: list[Resource], test_data: TestData) -> None:
        for submission_set in _of_type(resources, "List"):
            for coding in (submission_set.get("code") or {}).get("coding", []):
                coding["code"] = "folder"  # filed as an XDS folder, not a submission set


class SubmissionSetNoDate(FhirFault):
    def seed(self, resources: list[Resource], test_data: TestData) -> None:
        for submission_set in _of_type(resources, "List"):
            submission_set.pop("date", None)  # 1..1 in PDSm's SubmissionSet


class BinaryMismatch(FhirFault):
    def seed(self, resources: list[Resource], test_data: TestData) -> None:
        for binary in _of_type(resources, "Binary"):
            data = base64.b64decode(binary["data"]) + b"\n<!-- contenu modifie apres indexation -->\n"
            binary["data"] = base64.b64encode(data).decode("ascii")


class TransactionLocationWrong(FhirFault):
    def transaction_response(self, bundle: Resource) -> None:
        for entry in bundle.get("entry", []):
            location = entry["response"].get("location")
            if location:  # <type>/<id>/_history/<vid>: an id the resource was not stored under
                rtype, rid, *rest = location.split("/")
                entry["response"]["location"] = "/".join([rtype, f"{rid}-x", *rest])


class TransactionResponseInvalid(FhirFault):
    def transaction_response(self, bundle: Resource) -> None:
        bundle["type"] = "batch-response"
        for entry in bundle.get("entry", []):
            entry["response"].pop("location", None)


# -- directory


class RppsMissing(FhirFault):
    def seed(self, resources: list[Resource], test_data: TestData) -> None:
        for practitioner in _of_type(resources, "Practitioner"):
            _without_identifier(practitioner, RPPS_SYSTEM)


class IdnatpsMissing(FhirFault):
    def search_query(self, rtype: str, query: Query) -> Query:
        if rtype != "Practitioner":
            return query
        # the idNatPs system is not indexed: the store is asked for a system no identifier has
        unindexed = f"{IDNPS_SYSTEM}#not-indexed"
        return [
            (name, unindexed + value.removeprefix(IDNPS_SYSTEM) if value.startswith(f"{IDNPS_SYSTEM}|") else value)
            for name, value in query
        ]


class FinessMissing(FhirFault):
    def seed(self, resources: list[Resource], test_data: TestData) -> None:
        for organization in _of_type(resources, "Organization"):
            _without_identifier(organization, FINESS_SYSTEM)


class PractitionerNotAnnuaire(FhirFault):
    def seed(self, resources: list[Resource], test_data: TestData) -> None:
        for practitioner in _of_type(resources, "Practitioner"):
            practitioner.pop("active", None)  # 1..1 in the Annuaire profile


class PractitionerRoleNotAnnuaire(FhirFault):
    def seed(self, resources: list[Resource], test_data: TestData) -> None:
        for role in _of_type(resources, "PractitionerRole"):
            role.pop("active", None)  # 1..1 in the Annuaire profile


class PractitionerRoleForeign(FhirFault):
    def search_query(self, rtype: str, query: Query) -> Query:
        if rtype != "PractitionerRole":
            return query
        return [(name, value) for name, value in query if name.partition(":")[0] != "practitioner"]


class OrganizationNotAnnuaire(FhirFault):
    def seed(self, resources: list[Resource], test_data: TestData) -> None:
        for organization in _of_type(resources, "Organization"):
            if any(i.get("system") == FINESS_SYSTEM for i in organization.get("identifier", [])):
                organization.pop("active", None)
