"""The defective submissions the harness sends to a repository under test, and the proof that each carries only
its intended defect.

A refusal only says something about the system when the harness's submission is wrong for the one reason the
test names. Each defect is therefore built next to its clean twin (the same fresh CDA, the same VIHF), and
before anything is sent:

- the clean twin must be accepted by the harness's own validators (XDS metadata, XAdES, VIHF);
- the defective one must differ from its twin only in the facets the defect allows (e.g. hash and size), and in
  every facet it requires;
- the harness's validators must find in it exactly the defect's rules (none for an unknown patient: that
  submission is valid in itself, only the registry does not know the patient).

Otherwise the harness built a wrong test: `DefectNotIsolated`, an inconclusive result naming what differs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from lxml import etree

from conformance.i18n import BilingualError
from conformance.transport.vihf import VihfContent, read_vihf
from conformance.validation.xds import ebrim
from conformance.validation.xds.build import ProvideRequest, provide_request, read_header
from conformance.validation.xds.ebrim import NS
from conformance.validation.xds.metadata import institution_ids, judge_submission
from conformance.validation.xds.rules import XdsRules
from conformance.validation.xds.vihf import judge_vihf
from conformance.validation.xds.xades import is_signature_entry

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
# what differs between any two submissions of the same document: not part of a defect
_VOLATILE = frozenset({"submissionset/slot/submissionTime", f"submissionset/external/{ebrim.SS_UNIQUE_ID}"})


class DefectNotIsolated(BilingualError):
    """The harness's defective submission is not what its test says: the result is inconclusive."""

    kind = "defect-not-isolated"

    def __init__(self, defect: str, problems_fr: list[str], problems_en: list[str]) -> None:
        self.defect = defect
        super().__init__(
            f"Soumission défectueuse « {defect} » mal construite par le banc (résultat non concluant) : "
            + " ; ".join(problems_fr),
            f"Defective submission '{defect}' badly built by the harness (inconclusive): " + "; ".join(problems_en),
        )


@dataclass(slots=True)
class Submission:
    request: ProvideRequest
    vihf: VihfContent


@dataclass(frozen=True, slots=True)
class Defect:
    name: str  # as the findings name it
    required: frozenset[str]  # facets that must differ from the clean twin
    allowed: frozenset[str] = frozenset()  # facets that may differ too (consequences of the defect)
    rules: frozenset[str] = frozenset()  # the harness's own rules the defective submission must break, exactly


@dataclass(slots=True)
class Pair:
    defect: Defect
    clean: Submission
    defective: Submission
    notes: list[str] = field(default_factory=list)


def fresh_document(content: bytes) -> bytes:
    """The same CDA under a new document id, so that a defective submission is neither a duplicate of the
    registered one nor a uniqueId that is not the CDA's."""
    root = etree.fromstring(content, _PARSER)
    document_id = root.find("{urn:hl7-org:v3}id")
    if document_id is None:
        raise DefectNotIsolated(
            "-",
            ["le document configuré n'a pas d'identifiant ClinicalDocument/id à renouveler"],
            ["the configured document has no ClinicalDocument/id to renew"],
        )
    document_id.set("extension", str(uuid.uuid4().int % 10**12))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _entry_slot(name: str) -> str:
    return f"entry/slot/{name}"


HASH = Defect(
    "hash/size",
    required=frozenset({_entry_slot("hash"), _entry_slot("size")}),
    rules=frozenset({"xds-hash-mismatch", "xds-size-mismatch"}),
)
MISSING = Defect(
    "legalAuthenticator, creationTime",
    required=frozenset({_entry_slot("legalAuthenticator"), _entry_slot("creationTime")}),
    rules=frozenset({"xds-entry-legalauthenticator-missing", "xds-entry-creationtime-missing"}),
)
UNKNOWN_PATIENT = Defect(
    "patientId",
    required=frozenset(
        {f"entry/external/{ebrim.PATIENT_ID}", f"submissionset/external/{ebrim.SS_PATIENT_ID}", "vihf/resource_id"}
    ),
    # the patient's INS is in the CDA too: the document, its hash (and size if the INS length differs) follow
    allowed=frozenset({_entry_slot("hash"), _entry_slot("size"), _entry_slot("sourcePatientId"), "document"}),
)


def wrong_hash(content: bytes, vihf_of: Callable[[bytes], VihfContent]) -> Pair:
    document = fresh_document(content)
    clean, defective = (
        Submission(provide_request(document), vihf_of(document)),
        Submission(provide_request(document), vihf_of(document)),
    )
    other = hashlib.sha1(b"another document", usedforsecurity=False).hexdigest()
    for name, value in (("hash", other), ("size", "1")):
        defective.request.entry.find(f"rim:Slot[@name='{name}']/rim:ValueList/rim:Value", NS).text = value
    return Pair(HASH, clean, defective)


def missing_metadata(content: bytes, vihf_of: Callable[[bytes], VihfContent]) -> Pair:
    document = fresh_document(content)
    clean, defective = (
        Submission(provide_request(document), vihf_of(document)),
        Submission(provide_request(document), vihf_of(document)),
    )
    for name in ("legalAuthenticator", "creationTime"):
        defective.request.entry.remove(defective.request.entry.find(f"rim:Slot[@name='{name}']", NS))
    return Pair(MISSING, clean, defective)


def unknown_patient(content: bytes, vihf_of: Callable[[bytes], VihfContent], unknown_ins: str) -> Pair:
    document = fresh_document(content)
    known = read_header(document).patient_ins[0]
    other = document.replace(known.encode(), unknown_ins.encode())
    return Pair(
        UNKNOWN_PATIENT,
        Submission(provide_request(document), vihf_of(document)),
        Submission(provide_request(other), vihf_of(other)),
    )


# ---------------------------------------------------------------- facets


def _owner(element: etree._Element) -> str | None:
    if element.tag == f"{{{ebrim.RIM}}}RegistryPackage":
        return "submissionset"
    if element.tag == f"{{{ebrim.RIM}}}ExtrinsicObject" and not is_signature_entry(element):
        return "entry"
    return None


def _values(slot: etree._Element) -> str:
    return "|".join(v.text or "" for v in slot.iterfind("rim:ValueList/rim:Value", NS))


def facets(submission: Submission) -> dict[str, str]:
    """What a submission says, ids and signatures aside: facet -> value (`entry/slot/hash`, `vihf/structure_id`)."""
    found: dict[str, str] = {}
    submit = submission.request.payload.find("lcm:SubmitObjectsRequest", NS)
    for element in submit.iter(f"{{{ebrim.RIM}}}ExtrinsicObject", f"{{{ebrim.RIM}}}RegistryPackage"):
        owner = _owner(element)
        if owner is None:
            continue
        if owner == "entry":
            found["entry/mimeType"] = element.get("mimeType", "")
        for slot in element.iterfind("rim:Slot", NS):
            found[f"{owner}/slot/{slot.get('name')}"] = _values(slot)
        for name in element.iterfind("rim:Name/rim:LocalizedString", NS):
            found[f"{owner}/name"] = name.get("value", "")
        by_scheme: dict[str, list[str]] = {}
        for classification in element.iterfind("rim:Classification", NS):
            parts = [classification.get("nodeRepresentation", "")]
            parts += [f"{s.get('name')}={_values(s)}" for s in classification.iterfind("rim:Slot", NS)]
            by_scheme.setdefault(classification.get("classificationScheme", ""), []).append(";".join(parts))
        for scheme, values in by_scheme.items():
            found[f"{owner}/classification/{scheme}"] = "|".join(sorted(values))
        for identifier in element.iterfind("rim:ExternalIdentifier", NS):
            found[f"{owner}/external/{identifier.get('identificationScheme')}"] = identifier.get("value", "")
    entry_ids = {e.get("id") for e in submit.iter(f"{{{ebrim.RIM}}}ExtrinsicObject") if _owner(e) == "entry"}
    associations = sorted(
        a.get("associationType", "")
        + ";"
        + ";".join(f"{s.get('name')}={_values(s)}" for s in a.iterfind("rim:Slot", NS))
        for a in submit.iter(f"{{{ebrim.RIM}}}Association")
        if a.get("targetObject") in entry_ids
    )
    found["associations"] = "|".join(associations)
    found["document"] = hashlib.sha256(submission.request.content()).hexdigest()
    for key, value in asdict(submission.vihf).items():
        found[f"vihf/{key}"] = repr(value)
    return {k: v for k, v in found.items() if k not in _VOLATILE}


def differences(clean: Submission, defective: Submission) -> set[str]:
    a, b = facets(clean), facets(defective)
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


# ---------------------------------------------------------------- the harness's own validators


def own_failures(submission: Submission, security: etree._Element | None, rules: XdsRules) -> set[str]:
    """The rules the harness's validators find broken in `submission` (signed: `security` is its VIHF header)."""
    request = submission.request
    submit = request.payload.find("lcm:SubmitObjectsRequest", NS)
    documents = {}
    for document in request.payload.iterfind("xdsb:Document", NS):
        target = document[0].get("href", "").removeprefix("cid:") if len(document) else ""
        part = next((p for p in request.attachments if p.content_id == target), None)
        if part is not None:
            documents[document.get("id", "")] = part.data
    judged = judge_submission(submit, documents, rules)
    failing = {f.rule for f in judged.errors}
    institutions = institution_ids(submit)
    vihf = read_vihf(security)
    failing |= {
        f.rule
        for f in judge_vihf(vihf, rules, institutions=institutions, patient_cx=judged.submission_patient)
        if f.severity.is_failure
    }
    return failing


def check_isolated(
    pair: Pair,
    sign: Callable[[ProvideRequest], None],
    security: Callable[[VihfContent], etree._Element | None],
    rules: XdsRules,
) -> None:
    """Raise DefectNotIsolated unless `pair.defective` carries exactly `pair.defect` (see the module's doc).
    Both twins are signed (`sign`) as they will be sent. Whether the authority that issued the harness's own
    signing certificate is trusted is no part of a defect: not judged here."""
    rules = dataclasses.replace(rules, trusted_ca=None)
    sign(pair.clean.request)
    sign(pair.defective.request)
    fr: list[str] = []
    en: list[str] = []
    clean_failures = own_failures(pair.clean, security(pair.clean.vihf), rules)
    if clean_failures:
        listed = ", ".join(sorted(clean_failures))
        fr.append(f"le lot sain de référence est refusé par les validateurs du banc ({listed})")
        en.append(f"the clean twin is refused by the harness's validators ({listed})")
    changed = differences(pair.clean, pair.defective)
    extra = changed - pair.defect.required - pair.defect.allowed
    if extra:
        listed = ", ".join(sorted(extra))
        fr.append(f"il diffère aussi du lot sain par {listed}")
        en.append(f"it also differs from the clean twin in {listed}")
    unchanged = pair.defect.required - changed
    if unchanged:
        listed = ", ".join(sorted(unchanged))
        fr.append(f"le défaut annoncé est absent ({listed} inchangé)")
        en.append(f"the announced defect is absent ({listed} unchanged)")
    found = own_failures(pair.defective, security(pair.defective.vihf), rules)
    if found != pair.defect.rules:
        more, less = sorted(found - pair.defect.rules), sorted(pair.defect.rules - found)
        if more:
            fr.append(f"les validateurs du banc y trouvent d'autres défauts ({', '.join(more)})")
            en.append(f"the harness's validators find other defects in it ({', '.join(more)})")
        if less:
            fr.append(f"les validateurs du banc n'y trouvent pas {', '.join(less)}")
            en.append(f"the harness's validators do not find {', '.join(less)} in it")
    if fr:
        raise DefectNotIsolated(pair.defect.name, fr, en)
