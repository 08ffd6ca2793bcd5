"""The DMP as a Document Repository / Registry simulator: ITI-41, ITI-18 (FindDocuments, GetDocuments), ITI-43,
ITI-57 (archive, delete, masking by confidentiality code), with the DMP's action spellings.

Each request is judged (envelope, WS-Addressing, MTOM, VIHF, ebRIM metadata) into a `Judgement` the suites
read; the answer is a registry's: Success, or Failure with standard XDS error codes and a readable
codeContext. Accepted documents are stored so later queries and retrievals find them. The CDA content itself
is judged by the suites (the CDA validator), not before answering. The same class is the embedded reference
repository the harness tests itself against as a document source; its seeded faults are `repo-*`.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509
from lxml import etree

from conformance.findings import Finding, finding
from conformance.reference.faults import dmp_repository_hooks
from conformance.transport.mtom import MtomError, Part, decode_mtom, element_content, encode_mtom, new_content_id
from conformance.transport.soap import (
    SOAP12_MEDIA,
    Envelope,
    HttpReply,
    HttpRequest,
    SoapError,
    build_envelope,
    build_fault,
    parse_envelope,
)
from conformance.transport.vihf import read_vihf
from conformance.validation.xds import ebrim
from conformance.validation.xds.build import rim, slot
from conformance.validation.xds.ebrim import CLASSIFICATIONS, NS, PATIENT_ID, UNIQUE_ID, external, first_slot
from conformance.validation.xds.metadata import institution_ids, judge_submission, xds_error_code
from conformance.validation.xds.rules import XdsRules
from conformance.validation.xds.vihf import judge_vihf
from conformance.validation.xds.xades import is_signature_entry

REPOSITORY_ID = "1.2.250.1.213.4.1.1.1.2"  # the CNAM samples' repositoryUniqueId


@dataclass(slots=True)
class Judgement:
    """One request as the simulator received and judged it."""

    transaction: str  # ITI-41, ITI-18, ITI-43, ITI-57, or "" when the action could not be read
    action: str
    findings: list[Finding] = field(default_factory=list)
    status: str = ""  # Success / Failure (registry status), or "fault"
    errors: list[tuple[str, str]] = field(default_factory=list)  # (XDS code, codeContext) answered
    documents: dict[str, bytes] = field(default_factory=dict, repr=False)  # ITI-41: entry id -> content
    signatures: set[str] = field(default_factory=set)  # ITI-41: the entries carrying the XAdES signature
    received: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    tls: bool = False
    client_certificate: bool = False
    request_bytes: int = 0
    vihf_present: bool = False
    metadata_judged: bool = False  # ITI-41: the ebRIM metadata could be read and judged
    submission: str = ""  # ITI-41: the submission set's uniqueId (how the findings name the submission)

    def failures(self, sources: tuple[str, ...] | None = None) -> list[Finding]:
        return [f for f in self.findings if f.severity.is_failure and (sources is None or f.source in sources)]


@dataclass(slots=True)
class Stored:
    entry_uuid: str
    lid: str
    unique_id: str
    patient: str
    content: bytes = field(repr=False)
    entry: bytes = field(repr=False)  # the ExtrinsicObject as stored
    institution: set[str] = field(default_factory=set)
    status: str = ebrim.APPROVED
    version: int = 1
    confidentiality: list[tuple[str, str]] = field(default_factory=list)


def _f(rule: str, location: str, fr: str, en: str, code: str = "invalid", severity: str = "error") -> Finding:
    return finding(severity, code, rule, location, fr, en, source="soap")


class DmpSimulator:
    """The HTTP application behind the listener (`ThreadedSoapServer(simulator.handle, ...)`)."""

    def __init__(
        self,
        rules: XdsRules | None = None,
        *,
        repository_id: str = REPOSITORY_ID,
        faults: frozenset[str] = frozenset(),
        lang: str = "fr",
        paths: tuple[str, ...] = (),
    ) -> None:
        self.rules = rules or XdsRules()
        self.repository_id = repository_id
        self.faults = faults
        self.hooks = dmp_repository_hooks(faults)
        self.lang = lang
        self.paths = paths  # accepted request paths ("" or none: any)
        self.store: dict[str, Stored] = {}
        self.judgements: list[Judgement] = []
        self._lock = threading.Condition()

    # ---------------------------------------------------------------- collection

    def wait_for(self, transaction: str, count: int = 1, timeout: float = 10.0) -> list[Judgement]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [j for j in self.judgements if j.transaction == transaction]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._lock.wait(min(remaining, 0.2))

    def _keep(self, judgement: Judgement) -> None:
        with self._lock:
            self.judgements.append(judgement)
            self._lock.notify_all()

    # ---------------------------------------------------------------- HTTP entry point

    def handle(self, request: HttpRequest) -> HttpReply:
        judgement = Judgement(
            "",
            "",
            tls=request.tls,
            client_certificate=request.peer_certificate is not None,
            request_bytes=len(request.body),
        )
        try:
            return self._handle(request, judgement)
        finally:
            self._keep(judgement)

    def _handle(self, request: HttpRequest, judgement: Judgement) -> HttpReply:
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            message = decode_mtom(headers.get("content-type", ""), request.body)
        except MtomError as exc:
            judgement.findings.append(_f(f"soap-mtom-{exc.kind}", "HTTP body", exc.message_fr, exc.message_en))
            return self._fault(judgement, "Sender", "", exc.message_fr, exc.message_en)
        if not message.multipart:
            judgement.findings.append(
                _f(
                    "soap-mtom-missing",
                    "Content-Type",
                    "Requête sans MTOM : le DMP attend multipart/related (XOP).",
                    "Request without MTOM: the DMP expects multipart/related (XOP).",
                )
            )
        try:
            envelope = parse_envelope(message.root)
        except SoapError as exc:
            judgement.findings.append(_f(f"soap-{exc.kind}", "Envelope", exc.message_fr, exc.message_en))
            return self._fault(judgement, "Sender", "", exc.message_fr, exc.message_en)
        judgement.action = envelope.action
        judgement.transaction = ebrim.TRANSACTIONS.get(envelope.action, "") or _by_payload(envelope)
        judgement.findings.extend(self._envelope_findings(envelope, message.soap_type, message.multipart))
        if envelope.version == "1.1":
            self._judge_body(envelope, message.parts, request, judgement)  # judged for the report, then refused
            return self._fault(judgement, "VersionMismatch", "", "SOAP 1.2 attendu.", "SOAP 1.2 expected.")
        if envelope.action not in ebrim.TRANSACTIONS:
            if judgement.transaction:  # the body says what it is: judged for the report, then refused
                self._judge_body(envelope, message.parts, request, judgement)
            return self._fault(
                judgement,
                "Sender",
                "wsa:ActionNotSupported",
                f"Action « {envelope.action} » inconnue.",
                f"Unknown action '{envelope.action}'.",
            )
        return self._judge_body(envelope, message.parts, request, judgement)

    def _envelope_findings(self, envelope: Envelope, soap_type: str, multipart: bool) -> list[Finding]:
        found: list[Finding] = []
        if envelope.version != "1.2":
            found.append(
                _f(
                    "soap-version",
                    "Envelope",
                    "Enveloppe SOAP 1.1 : le DMP exige SOAP 1.2.",
                    "SOAP 1.1 envelope: the DMP requires SOAP 1.2.",
                )
            )
        if multipart and soap_type and soap_type != SOAP12_MEDIA:
            found.append(
                _f(
                    "soap-mtom-start-info",
                    "Content-Type",
                    f"type={soap_type} au lieu de {SOAP12_MEDIA}.",
                    f"type={soap_type} instead of {SOAP12_MEDIA}.",
                )
            )
        if not envelope.action:
            found.append(
                _f(
                    "wsa-action-missing",
                    "Header/Action",
                    "En-tête WS-Addressing Action absent.",
                    "WS-Addressing Action header missing.",
                    code="required",
                )
            )
        elif not envelope.action_must_understand:
            found.append(
                _f(
                    "wsa-action-mustunderstand",
                    "Header/Action",
                    'Action sans mustUnderstand="true".',
                    'Action without mustUnderstand="true".',
                )
            )
        elif envelope.action not in ebrim.TRANSACTIONS:
            found.append(
                _f(
                    "wsa-action-unknown",
                    "Header/Action",
                    f"Action « {envelope.action} » inconnue du DMP.",
                    f"Action '{envelope.action}' unknown to the DMP.",
                    code="not-supported",
                )
            )
        if not envelope.message_id:
            found.append(
                _f(
                    "wsa-messageid-missing",
                    "Header/MessageID",
                    "En-tête WS-Addressing MessageID absent.",
                    "WS-Addressing MessageID header missing.",
                    code="required",
                )
            )
        return found

    def _judge_body(self, envelope: Envelope, parts: dict[str, Part], request: HttpRequest, j: Judgement) -> HttpReply:
        certificate = x509.load_der_x509_certificate(request.peer_certificate) if request.peer_certificate else None
        vihf = read_vihf(envelope.security())
        j.vihf_present = vihf is not None
        payload = envelope.payload
        handler = {
            "ITI-41": self._provide,
            "ITI-18": self._query,
            "ITI-43": self._retrieve,
            "ITI-57": self._update,
        }.get(j.transaction)
        if handler is None or payload is None:
            return self._fault(
                j, "Sender", "", "Corps de requête vide ou action inconnue.", "Empty body or unknown action."
            )
        try:
            body, attachments = handler(payload, parts, j, vihf, certificate)
        except MtomError as exc:
            j.findings.append(_f(f"soap-mtom-{exc.kind}", "Body", exc.message_fr, exc.message_en))
            return self._fault(j, "Sender", "", exc.message_fr, exc.message_en)
        return self._reply(envelope, j, body, attachments)

    # ---------------------------------------------------------------- transactions

    def _vihf(self, j: Judgement, vihf, certificate, institutions=None, patient: str = "") -> None:
        j.findings.extend(
            judge_vihf(vihf, self.rules, tls_certificate=certificate, institutions=institutions, patient_cx=patient)
        )

    def _provide(self, payload, parts, j: Judgement, vihf, certificate):
        submit = payload.find("lcm:SubmitObjectsRequest", NS)
        unreadable: set[str] = set()
        for document in payload.findall("xdsb:Document", NS):
            try:
                j.documents[document.get("id", "")] = element_content(document, parts)
            except MtomError as exc:  # a transport fault: the MTOM verdict, not a metadata one
                unreadable.add(document.get("id", ""))
                j.findings.append(
                    _f(f"soap-mtom-{exc.kind}", f"Document[@id='{document.get('id')}']", exc.message_fr, exc.message_en)
                )
        judged = judge_submission(submit, j.documents, self.rules, unreadable=unreadable)
        if submit is not None:
            j.signatures = {
                e.get("id", "") for e in submit.iterfind(".//rim:ExtrinsicObject", NS) if is_signature_entry(e)
            }
        j.metadata_judged = submit is not None
        if submit is not None:
            package = submit.find(".//rim:RegistryPackage", NS)
            j.submission = external(package, ebrim.SS_UNIQUE_ID) if package is not None else ""
        j.findings.extend(self._tolerated(judged.findings))
        institutions = institution_ids(submit) if submit is not None else set()
        self._vihf(j, vihf, certificate, institutions, judged.submission_patient)
        errors = [f for f in j.findings if f.severity.is_failure]
        if not errors:
            errors.extend(self._registry_checks(submit, judged))
        if errors:
            return self._registry_response(j, errors), []
        for entry in submit.findall(".//rim:ExtrinsicObject", NS):
            self._store(entry, j.documents.get(entry.get("id", ""), b""), institutions)
        return self._registry_response_codes(j, [], registered=True), []

    def _tolerated(self, findings: list[Finding]) -> list[Finding]:
        """Seeded repository faults: checks the defective reference repository skips."""
        return self.hooks.tolerated(findings)

    def _registry_checks(self, submit, judged) -> list[Finding]:
        found: list[Finding] = []
        for entry in judged.entries:
            if entry["uniqueId"] in self.store:
                found.append(
                    finding(
                        "error",
                        "duplicate",
                        "xds-uniqueid-duplicate",
                        "uniqueId",
                        f"uniqueId {entry['uniqueId']} déjà enregistré.",
                        f"uniqueId {entry['uniqueId']} already registered.",
                        source="xds",
                    )
                )
            ins = entry["patientId"].split("^")[0]
            known = self.rules.known_patients
            if known is not None and ins not in known and self.hooks.checks_known_patient(True):
                found.append(
                    finding(
                        "error",
                        "not-found",
                        "xds-patientid-unknown",
                        "patientId",
                        "Patient inconnu du registre (pas de DMP pour cet INS).",
                        "Patient unknown to the registry (no DMP for this INS).",
                        source="xds",
                    )
                )
        return found

    def _store(self, entry: etree._Element, content: bytes, institutions: set[str]) -> None:
        stored = etree.fromstring(etree.tostring(entry))
        entry_uuid = f"urn:uuid:{uuid.uuid4()}"
        local_id = stored.get("id", "")
        stored.set("id", entry_uuid)
        stored.set("lid", entry_uuid)
        stored.set("status", ebrim.APPROVED)
        for element in stored.iter():
            if element.get("classifiedObject") == local_id:
                element.set("classifiedObject", entry_uuid)
            if element.get("registryObject") == local_id:
                element.set("registryObject", entry_uuid)
        slot(stored, "repositoryUniqueId", self.repository_id)
        unique = external(stored, UNIQUE_ID)
        data = self.hooks.stored_content(content)
        self.store[unique] = Stored(
            entry_uuid,
            entry_uuid,
            unique,
            external(stored, PATIENT_ID),
            data,
            etree.tostring(stored),
            set(institutions),
        )

    def _query(self, payload, parts, j: Judgement, vihf, certificate):
        query = payload.find("rim:AdhocQuery", NS)
        self._vihf(j, vihf, certificate)
        if query is None:
            missing = self._say("AdhocQuery absent", "AdhocQuery missing")
            return self._query_response(j, [("XDSRegistryMetadataError", missing)], []), []
        params = {
            s.get("name", ""): [v.text or "" for v in s.iterfind("rim:ValueList/rim:Value", NS)]
            for s in query.findall("rim:Slot", NS)
        }
        if query.get("id") == ebrim.FIND_DOCUMENTS:
            patient = [v.strip("'") for v in params.get("$XDSDocumentEntryPatientId", [])]
            if not patient:
                j.findings.append(
                    _f(
                        "xds-query-missing-param",
                        "AdhocQuery",
                        "$XDSDocumentEntryPatientId absent.",
                        "$XDSDocumentEntryPatientId missing.",
                        code="required",
                    )
                )
                missing = self._say("$XDSDocumentEntryPatientId absent", "$XDSDocumentEntryPatientId missing")
                return self._query_response(j, [("XDSStoredQueryMissingParam", missing)], []), []
            statuses = _list_param(params.get("$XDSDocumentEntryStatus", [])) or [ebrim.APPROVED]
            found = [s for s in self.store.values() if s.patient == patient[0] and s.status in statuses]
            found = self.hooks.found(found)
        elif query.get("id") == ebrim.GET_DOCUMENTS:
            wanted = set(_list_param(params.get("$XDSDocumentEntryUniqueId", [])))
            uuids = set(_list_param(params.get("$XDSDocumentEntryEntryUUID", [])))
            found = [s for s in self.store.values() if s.unique_id in wanted or s.entry_uuid in uuids]
        else:
            j.findings.append(
                _f(
                    "xds-query-unknown",
                    "AdhocQuery/@id",
                    f"Requête stockée {query.get('id')} inconnue.",
                    f"Unknown stored query {query.get('id')}.",
                    code="not-supported",
                )
            )
            unknown = self._say(
                f"requête stockée {query.get('id')} inconnue", f"unknown stored query {query.get('id')}"
            )
            return self._query_response(j, [("XDSUnknownStoredQuery", unknown)], []), []
        return self._query_response(j, [], found), []

    def _retrieve(self, payload, parts, j: Judgement, vihf, certificate):
        self._vihf(j, vihf, certificate)
        response = etree.Element(f"{{{ebrim.XDSB}}}RetrieveDocumentSetResponse", nsmap={"xdsb": ebrim.XDSB})
        errors: list[tuple[str, str]] = []
        attachments: list[Part] = []
        for item in payload.findall("xdsb:DocumentRequest", NS):
            repository = (item.findtext("xdsb:RepositoryUniqueId", "", NS) or "").strip()
            unique = (item.findtext("xdsb:DocumentUniqueId", "", NS) or "").strip()
            stored = self.store.get(unique)
            if repository != self.repository_id:
                errors.append(
                    (
                        "XDSUnknownRepositoryId",
                        self._say(f"entrepôt {repository} inconnu", f"unknown repository {repository}"),
                    )
                )
                continue
            if stored is None or stored.status == ebrim.DELETED:
                errors.append(
                    ("XDSDocumentUniqueIdError", self._say(f"document {unique} inconnu", f"unknown document {unique}"))
                )
                continue
            document = etree.SubElement(response, f"{{{ebrim.XDSB}}}DocumentResponse")
            etree.SubElement(document, f"{{{ebrim.XDSB}}}RepositoryUniqueId").text = repository
            etree.SubElement(document, f"{{{ebrim.XDSB}}}DocumentUniqueId").text = unique
            etree.SubElement(document, f"{{{ebrim.XDSB}}}mimeType").text = "text/xml"
            content_id = new_content_id()
            holder = etree.SubElement(document, f"{{{ebrim.XDSB}}}Document")
            etree.SubElement(holder, "{http://www.w3.org/2004/08/xop/include}Include", href=f"cid:{content_id}")
            attachments.append(Part(content_id, "text/xml", stored.content))
        status = ebrim.SUCCESS if not errors else (ebrim.PARTIAL if attachments else ebrim.FAILURE)
        response.insert(0, _registry_response(status, errors))
        j.status, j.errors = status.rsplit(":", 1)[-1], errors
        return response, attachments

    def _update(self, payload, parts, j: Judgement, vihf, certificate):
        self._vihf(j, vihf, certificate)
        errors: list[tuple[str, str]] = []
        structure = vihf.first("Identifiant_Structure") if vihf is not None else ""
        for association in payload.iterfind(".//rim:Association", NS):
            if association.get("associationType") == ebrim.UPDATE_AVAILABILITY:
                errors.extend(self._status_change(association, structure, j))
        for entry in payload.iterfind(".//rim:ExtrinsicObject", NS):
            errors.extend(self._metadata_update(entry, j))
        return self._registry_response_codes(j, errors), []

    def _status_change(self, association, structure: str, j: Judgement) -> list[tuple[str, str]]:
        target = association.get("targetObject", "")
        original, new = first_slot(association, "OriginalStatus"), first_slot(association, "NewStatus")
        stored = next((s for s in self.store.values() if target in (s.entry_uuid, s.lid)), None)
        if new not in (ebrim.APPROVED, ebrim.ARCHIVED, ebrim.DELETED) or not original:
            j.findings.append(
                _f(
                    "xds-update-status",
                    "Association",
                    f"Statut {new or '(absent)'} non admis.",
                    f"Status {new or '(missing)'} not allowed.",
                    code="value",
                )
            )
            return [
                (
                    "XDSMetadataUpdateError",
                    self._say(
                        f"NewStatus {new or '(absent)'} non admis", f"NewStatus {new or '(missing)'} not allowed"
                    ),
                )
            ]
        if stored is None:
            return [("XDSMetadataUpdateError", self._say(f"document {target} inconnu", f"unknown document {target}"))]
        if stored.status != original:
            return [
                (
                    "XDSMetadataUpdateError",
                    self._say(
                        f"OriginalStatus {original} alors que le document est {stored.status}",
                        f"OriginalStatus {original} while the document is {stored.status}",
                    ),
                )
            ]
        if new == ebrim.DELETED and stored.institution and structure not in stored.institution:
            return [
                (
                    "XDSMetadataUpdateOperationError",
                    self._say("seul l'auteur peut supprimer le document", "only the author may delete the document"),
                )
            ]
        if self.hooks.applies_status(True):
            stored.status = new
        return []

    def _metadata_update(self, entry, j: Judgement) -> list[tuple[str, str]]:
        lid = entry.get("lid", "")
        stored = next((s for s in self.store.values() if s.lid == lid), None)
        if stored is None:
            return [("XDSMetadataUpdateError", self._say(f"lid {lid} inconnu", f"unknown lid {lid}"))]
        codes = [
            (c.get("nodeRepresentation", ""), first_slot(c, "codingScheme"))
            for c in entry.findall(
                f"rim:Classification[@classificationScheme='{CLASSIFICATIONS['confidentialityCode']}']", NS
            )
        ]
        if not codes:
            return [("XDSMetadataUpdateError", self._say("confidentialityCode absent", "confidentialityCode missing"))]
        stored.confidentiality = codes
        stored.version += 1
        return []

    # ---------------------------------------------------------------- answers

    def _say(self, fr: str, en: str) -> str:
        """An answer's codeContext, in the simulator's language."""
        return fr if self.lang == "fr" else en

    def _registry_response(self, j: Judgement, errors: list[Finding]) -> etree._Element:
        codes = [(xds_error_code(f.rule), f"[{f.rule}] {f.message(self.lang)}") for f in errors]
        return self._registry_response_codes(j, codes)

    def _registry_response_codes(
        self, j: Judgement, codes: list[tuple[str, str]], *, registered: bool = False
    ) -> etree._Element:
        codes = self.hooks.error_codes(codes)
        status = ebrim.FAILURE if codes else ebrim.SUCCESS
        if registered:
            status = self.hooks.registered_status(status)
        j.status, j.errors = status.rsplit(":", 1)[-1], codes
        return _registry_response(status, codes)

    def _query_response(self, j: Judgement, errors: list[tuple[str, str]], found: list[Stored]) -> etree._Element:
        status = ebrim.FAILURE if errors else ebrim.SUCCESS
        j.status, j.errors = status.rsplit(":", 1)[-1], errors
        response = etree.Element(
            f"{{{ebrim.QUERY}}}AdhocQueryResponse",
            status=status,
            nsmap={"query": ebrim.QUERY, "rim": ebrim.RIM, "rs": ebrim.RS},
        )
        if errors:
            response.append(_error_list(errors))
        objects = rim("RegistryObjectList", response)
        for stored in found:
            entry = etree.fromstring(stored.entry)
            entry.set("status", stored.status)
            if stored.confidentiality:
                for old in entry.findall(
                    f"rim:Classification[@classificationScheme='{CLASSIFICATIONS['confidentialityCode']}']", NS
                ):
                    entry.remove(old)
                from conformance.validation.xds.build import classification

                for code in stored.confidentiality:
                    classification(entry, CLASSIFICATIONS["confidentialityCode"], stored.entry_uuid, code)
            objects.append(entry)
        return response

    def _reply(self, envelope: Envelope, j: Judgement, body: etree._Element, attachments: list[Part]) -> HttpReply:
        action = ebrim.RESPONSE_ACTIONS.get(envelope.action, "")
        if envelope.action == ebrim.ITI57 and self.rules.iti57_response_action == "ihe":
            action = ebrim.ITI57_RESPONSE_IHE
        action = self.hooks.response_action(action, envelope.action)
        relates = self.hooks.relates_to(envelope.message_id or "")
        xml = build_envelope(action, body, relates_to=relates or "", reply_to=False)
        content_type, data = encode_mtom(xml, attachments, action=action)
        return HttpReply(200, content_type, data)

    def _fault(self, j: Judgement, code: str, subcode: str, fr: str, en: str, soap_ns: str = "") -> HttpReply:
        j.status = "fault"
        fault = build_fault(code, subcode, fr, en)
        xml = build_envelope("http://www.w3.org/2005/08/addressing/soap/fault", fault, reply_to=False)
        content_type = f"{SOAP12_MEDIA}; charset=UTF-8"
        return HttpReply(400 if code in ("Sender", "VersionMismatch") else 500, content_type, xml)


_PAYLOADS = {
    f"{{{ebrim.XDSB}}}ProvideAndRegisterDocumentSetRequest": "ITI-41",
    f"{{{ebrim.QUERY}}}AdhocQueryRequest": "ITI-18",
    f"{{{ebrim.XDSB}}}RetrieveDocumentSetRequest": "ITI-43",
    f"{{{ebrim.LCM}}}SubmitObjectsRequest": "ITI-57",
}


def _by_payload(envelope: Envelope) -> str:
    """The transaction the body says it is (when the Action is missing or wrong, to judge it all the same)."""
    payload = envelope.payload
    return _PAYLOADS.get(payload.tag, "") if payload is not None else ""


def _list_param(values: list[str]) -> list[str]:
    items: list[str] = []
    for value in values:
        for part in value.strip().strip("()").split(","):
            part = part.strip().strip("'")
            if part:
                items.append(part)
    return items


def _error_list(errors: list[tuple[str, str]]) -> etree._Element:
    error_list = etree.Element(f"{{{ebrim.RS}}}RegistryErrorList", nsmap={"rs": ebrim.RS})
    for code, context in errors:
        etree.SubElement(
            error_list,
            f"{{{ebrim.RS}}}RegistryError",
            errorCode=code,
            codeContext=context,
            severity=ebrim.SEVERITY_ERROR,
            location="",
        )
    return error_list


def _registry_response(status: str, errors: list[tuple[str, str]]) -> etree._Element:
    response = etree.Element(f"{{{ebrim.RS}}}RegistryResponse", status=status, nsmap={"rs": ebrim.RS})
    if errors:
        response.append(_error_list(errors))
    return response
