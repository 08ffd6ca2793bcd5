"""Rule packs: checks a profile names in `rules` that data alone cannot express.

msh-type          MSH-9 message structure (MSH-9.3) matches the event's structure
pam-fr-msh        PAM FR MSH specifics (MSH-18 8859/1 tolerated with a warning)
pam-fr-segments   empty Z segments are not sent (PAM FR §5.2)
pam-fr-ins        INS in PID-3 / MRG-1: OIDs, type INS, key, CX-7/8, only with PID-32 = VALI, traits consistent
pam-fr-movement   ZBE-4 action vs trigger event, ZBE-6 original trigger, ZBE-9 = C only on Z99
cisis-msh         CI-SIS MSH-21 (volet and version); older volet versions are checked with warnings only
cisis-document    the CDA document OBX (ED, XML, Base64), ORC-1/OBX-11/trigger agreement, metadata OBX, PRT
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.findings import Finding
from conformance.identifiers import INS_LABELS, INS_NIR_OID
from conformance.validation import ins as ins_rules
from conformance.validation.hl7v2.engine import located_finding
from conformance.validation.hl7v2.er7 import (
    MAX_CHECKED_REPETITIONS,
    NULL,
    Message,
    Segment,
    components,
    location,
    nth,
    repetitions,
    subcomponents,
    unescape,
    value_of,
)
from conformance.validation.hl7v2.profile import MessageProfile
from conformance.validation.ins import nir_key_ok  # noqa: F401  (re-exported: the one NIR key check)

INS_OIDS = INS_LABELS
# ITI-31 movement events (PAM FR 2.11 §2.2): they carry ZBE, PID-18 and PV1-19.
MOVEMENT_EVENTS = frozenset(
    [
        "A01",
        "A02",
        "A03",
        "A04",
        "A05",
        "A06",
        "A07",
        "A11",
        "A12",
        "A13",
        "A14",
        "A15",
        "A16",
        "A21",
        "A22",
        "A25",
        "A26",
        "A27",
        "A38",
        "A52",
        "A53",
        "A54",
        "A55",
        "Z99",
    ]
)
ATTRIBUTE_ONLY_RELIABILITY = {"HOMA", "FICT", "DOUT"}


@dataclass(slots=True)
class Document:
    """A document carried in an OBX (handed to the CDA validator)."""

    location: str
    data: bytes
    obx: Segment


@dataclass(slots=True)
class RuleContext:
    message: Message
    profile: MessageProfile
    profile_id: str
    findings: list[Finding] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def add(
        self,
        severity: str,
        rule: str,
        where: str,
        fr: str,
        en: str,
        segment: Segment | None = None,
        field_number: int | None = None,
        code: str = "business-rule",
    ) -> None:
        line = segment.line if segment is not None else None
        column = segment.column(field_number) if segment is not None and field_number is not None else None
        self.findings.append(located_finding(severity, code, rule, where, fr, en, self.profile_id, line, column))

    def get(self, segment: Segment, number: int, repetition: int = 1, component: int | None = None,
            sub: int | None = None) -> str:  # fmt: skip
        return value_of(segment, number, repetition, component, sub, self.message.delimiters)

    @property
    def event(self) -> str:
        return self.message.message_type[1]


Rule = Callable[[RuleContext], None]
RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(function: Rule) -> Rule:
        RULES[name] = function
        return function

    return register


def run_rules(ctx: RuleContext) -> None:
    for name in ctx.profile.rules:
        function = RULES.get(name)
        if function is None:
            ctx.add("warning", "hl7v2-profile-rule", "", f"Règle de profil inconnue : {name}",
                    f"Unknown profile rule pack: {name}", code="informational")  # fmt: skip
            continue
        function(ctx)


# ----------------------------------------------------------------------------------------------- MSH


@rule("msh-type")
def check_message_type(ctx: RuleContext) -> None:
    expected = ctx.profile.msh9
    if not expected:
        return
    code, _event, structure = ctx.message.message_type
    msh = ctx.message.msh
    expected_parts = expected.split("^")
    if expected_parts[0] == "ACK" and len(expected_parts) == 1:
        if structure and structure != "ACK":
            ctx.add("warning", "hl7v2-ack-structure", "MSH-9.3",
                    f"MSH-9.3 d'un accusé de réception devrait valoir ACK (trouvé « {structure} »)",
                    f"MSH-9.3 of an acknowledgement should be ACK (found '{structure}')", msh, 9)  # fmt: skip
        return
    if len(expected_parts) == 3 and structure != expected_parts[2]:
        ctx.add("error", "hl7v2-msh9-structure", "MSH-9.3",
                f"MSH-9.3 doit valoir {expected_parts[2]} pour {code}^{expected_parts[1]} (trouvé « {structure} »)",
                f"MSH-9.3 must be {expected_parts[2]} for {code}^{expected_parts[1]} (found '{structure}')",
                msh, 9, code="value")  # fmt: skip


@rule("pam-fr-msh")
def check_pam_msh(ctx: RuleContext) -> None:
    msh = ctx.message.msh
    charset = ctx.get(msh, 18)
    if charset == "8859/1":
        ctx.add("warning", "pam-fr-msh-charset", "MSH-18",
                "MSH-18 = 8859/1 : PAM FR §6.1 n'autorise que 8859/15 ou UNICODE UTF-8 (l'exemple du §6.5 de la "
                "version 2.11.2 utilise 8859/1, d'où une simple alerte)",
                "MSH-18 = 8859/1: PAM FR §6.1 only allows 8859/15 or UNICODE UTF-8 (the 2.11.2 §6.5 example uses "
                "8859/1, hence only a warning)", msh, 18, code="value")  # fmt: skip


@rule("pam-fr-segments")
def check_pam_segments(ctx: RuleContext) -> None:
    _check_trusted_person(ctx)
    for segment in ctx.message.segments:
        if segment.name[:1] == "Z" and not any(map(str.strip, segment.fields[1:])):
            ctx.add("warning", "pam-fr-z-empty", segment.label(),
                    f"Segment {segment.name} vide : un segment Z sans champ renseigné n'est pas transmis (PAM FR §5.2)",
                    f"Empty {segment.name} segment: a Z segment with no valued field is not sent (PAM FR §5.2)",
                    segment)  # fmt: skip


def _check_trusted_person(ctx: RuleContext) -> None:
    if ctx.profile.settings.get("transaction") != "ITI-30":
        return
    for nk1 in ctx.message.all("NK1"):
        if ctx.get(nk1, 7, 1, 1) == "K":
            ctx.add("error", "pam-fr-nk1-trusted-person", location(nk1, 7, 1, 1),
                    "La personne de confiance (NK1-7 = K) ne circule que dans ITI-31, pas dans ITI-30 (PAM FR §6.9)",
                    "The trusted person (NK1-7 = K) travels in ITI-31 only, not in ITI-30 (PAM FR §6.9)", nk1, 7)  # fmt: skip


# ----------------------------------------------------------------------------------------------- INS


def _ins_repetitions(ctx: RuleContext, segment: Segment, number: int) -> list[tuple[int, str, str, str]]:
    """(repetition, value, oid, type) of identifiers that claim to be an INS (by OID or by type)."""
    found: list[tuple[int, str, str, str]] = []
    delimiters = ctx.message.delimiters
    component, subcomponent = delimiters.component, delimiters.subcomponent
    reps = repetitions(segment, number, delimiters)
    for index, rep in enumerate(reps[:MAX_CHECKED_REPETITIONS], start=1):
        parts = rep.split(component)  # CX-1, CX-4.2 and CX-5 of one split
        value = parts[0]
        authority = parts[3].split(subcomponent) if len(parts) > 3 else ()
        oid = authority[1].strip() if len(authority) > 1 else ""
        id_type = parts[4].strip() if len(parts) > 4 else ""
        if ins_rules.claims_ins(oid) or id_type in ("INS", "INS-C"):
            found.append((index, value, oid, id_type))
    return found


def _check_ins_identifier(ctx: RuleContext, segment: Segment, number: int, index: int, value: str, oid: str,
                          id_type: str) -> None:  # fmt: skip
    loc = lambda c, s=None: location(segment, number, index, c, s)  # noqa: E731
    check = ins_rules.check_ins(value, oid)
    if check.authority is ins_rules.Authority.INS_C or id_type == "INS-C":
        ctx.add("error", "pam-fr-ins-c", loc(4, 2),
                "INS-C (INS calculé) : ne doit plus être transmis, seul l'INS (NIR ou NIA) qualifié est autorisé",
                "INS-C (computed INS) must no longer be sent; only a qualified INS (NIR or NIA) is allowed",
                segment, number)  # fmt: skip
        return
    if check.authority is ins_rules.Authority.UNKNOWN or (id_type == "INS" and oid not in INS_OIDS):
        ctx.add("error", "pam-fr-ins-oid", loc(4, 2),
                f"Autorité d'affectation de l'INS « {oid or '(vide)'} » inconnue : attendu {INS_NIR_OID} "
                "(NIR), .9 (NIA), .10 (test) ou .11 (démonstration)",
                f"Unknown INS assigning authority '{oid or '(empty)'}': expected {INS_NIR_OID} (NIR), "
                ".9 (NIA), .10 (test) or .11 (demo)", segment, number, code="code-invalid")  # fmt: skip
        return
    if oid in INS_OIDS and id_type != "INS":
        if oid == INS_NIR_OID and id_type == "NH":
            return  # the billing NIR, not the INS (PAM FR §6.6.1)
        ctx.add("error", "pam-fr-ins-type", loc(5),
                f"Identifiant sous l'autorité INS {oid} : le type d'identifiant (CX-5) doit être INS "
                f"(trouvé « {id_type or '(vide)'} »)",
                f"Identifier under INS authority {oid}: identifier type (CX-5) must be INS "
                f"(found '{id_type or '(empty)'}')", segment, number, code="code-invalid")  # fmt: skip
    if value in ("", NULL):
        return
    if not check.key_ok:
        ctx.add(check.key_severity, "pam-fr-ins-format", loc(1),
                "INS invalide : 13 caractères (NIR ou NIA) suivis d'une clé de 2 chiffres égale à 97 - (numéro modulo 97)",
                "Invalid INS: 13 characters (NIR or NIA) followed by a 2-digit key equal to 97 - (number mod 97)",
                segment, number, code="value")  # fmt: skip
    for component in (7, 8):
        if ctx.get(segment, number, index, component):
            ctx.add("warning", "pam-fr-ins-cx7", loc(component),
                    f"CX-{component} doit rester vide pour l'INS (PAM FR §6.6.1)",
                    f"CX-{component} must stay empty for the INS (PAM FR §6.6.1)", segment, number)  # fmt: skip


@rule("pam-fr-ins")
def check_ins(ctx: RuleContext) -> None:
    for pid in ctx.message.all("PID"):
        _check_pid_ins(ctx, pid)
    for mrg in ctx.message.all("MRG"):
        for index, value, oid, id_type in _ins_repetitions(ctx, mrg, 1):
            _check_ins_identifier(ctx, mrg, 1, index, value, oid, id_type)


def _check_pid_ins(ctx: RuleContext, pid: Segment) -> None:
    reliability = [r for r in repetitions(pid, 32, ctx.message.delimiters) if r]
    status = reliability[0] if reliability else ""
    if status in ATTRIBUTE_ONLY_RELIABILITY:
        ctx.add("error", "pam-fr-pid32-status", location(pid, 32),
                f"PID-32 : la première répétition porte le statut de l'identité ; {status} est un attribut "
                "(répétition suivante) (PAM FR §6.6.15)",
                f"PID-32: the first repetition carries the identity status; {status} is an attribute "
                "(later repetition) (PAM FR §6.6.15)", pid, 32, code="value")  # fmt: skip
    for index, extra in enumerate(reliability[1:], start=2):
        if extra not in ATTRIBUTE_ONLY_RELIABILITY:
            ctx.add("warning", "pam-fr-pid32-attribute", location(pid, 32, index),
                    f"PID-32[{index}] : seuls les attributs HOMA, FICT ou DOUT suivent le statut (trouvé {extra})",
                    f"PID-32[{index}]: only the attributes HOMA, FICT or DOUT follow the status (found {extra})",
                    pid, 32)  # fmt: skip
    _check_birth_name(ctx, pid)
    ins = _ins_repetitions(ctx, pid, 3)
    for index, value, oid, id_type in ins:
        _check_ins_identifier(ctx, pid, 3, index, value, oid, id_type)
    valued = [(index, value, oid) for index, value, oid, id_type in ins if value not in ("", NULL) and id_type == "INS"]
    if not valued:
        return
    index, value, _oid = valued[0]
    if not ins_rules.ins_allowed(status):
        ctx.add("error", "pam-fr-ins-qualified", location(pid, 32),
                f"INS transmis (PID-3[{index}]) alors que l'identité n'est pas qualifiée : PID-32 doit valoir VALI "
                f"(trouvé « {status or '(vide)'} ») (PAM FR §6.6.1)",
                f"INS sent (PID-3[{index}]) while the identity is not qualified: PID-32 must be VALI "
                f"(found '{status or '(empty)'}') (PAM FR §6.6.1)", pid, 32)  # fmt: skip
        return
    _check_ins_traits(ctx, pid, value)
    zfd = ctx.message.first("ZFD")
    if zfd is not None and ctx.get(zfd, 4) == "Y":
        ctx.add("error", "pam-fr-ins-corrected-birthdate", location(zfd, 4),
                "ZFD-4 = Y (date de naissance corrigée) : l'identité ne peut pas être qualifiée, l'INS ne doit pas "
                "être transmis (PAM FR §6.6.4)",
                "ZFD-4 = Y (corrected birth date): the identity cannot be qualified, the INS must not be sent "
                "(PAM FR §6.6.4)", zfd, 4)  # fmt: skip


def _component_lists(ctx: RuleContext, segment: Segment, number: int) -> list[list[str]]:
    """The components of each repetition of a field (what ctx.get reads one at a time)."""
    separator = ctx.message.delimiters.component
    return [rep.split(separator) for rep in repetitions(segment, number, ctx.message.delimiters)]


def _check_birth_name(ctx: RuleContext, pid: Segment) -> None:
    names = _component_lists(ctx, pid, 5)
    types = [nth(name, 7) for name in names]
    if names and "L" not in types:
        ctx.add("error", "pam-fr-pid5-birth-name", location(pid, 5),
                "PID-5 : le nom de naissance (type L) doit toujours être transmis (PAM FR §6.6.2)",
                "PID-5: the birth name (type L) must always be sent (PAM FR §6.6.2)", pid, 5)  # fmt: skip


def _check_ins_traits(ctx: RuleContext, pid: Segment, ins: str) -> None:
    names = _component_lists(ctx, pid, 5)
    legal = next((i for i, name in enumerate(names, start=1) if nth(name, 7) == "L"), None)
    if legal is not None:
        first = nth(names[legal - 1], 2)
        given = nth(names[legal - 1], 3)
        if not first:
            ctx.add("error", "pam-fr-ins-traits", location(pid, 5, legal, 2),
                    "INS qualifié : le premier prénom de naissance (XPN-2) est obligatoire",
                    "Qualified INS: the first given name at birth (XPN-2) is required", pid, 5)  # fmt: skip
        if not given:
            ctx.add("warning", "pam-fr-ins-traits", location(pid, 5, legal, 3),
                    "INS qualifié : la liste des prénoms de naissance (XPN-3) devrait être transmise",
                    "Qualified INS: the list of given names at birth (XPN-3) should be sent", pid, 5)  # fmt: skip
        elif first and not given.upper().startswith(first.upper()):
            ctx.add("warning", "pam-fr-ins-traits", location(pid, 5, legal, 2),
                    f"Le premier prénom « {first} » n'est pas le premier de la liste des prénoms « {given} »",
                    f"First given name '{first}' is not the first of the given names list '{given}'", pid, 5)  # fmt: skip
    birth = ctx.get(pid, 7, 1, 1)
    if not birth:
        ctx.add("error", "pam-fr-ins-traits", location(pid, 7),
                "INS qualifié : la date de naissance (PID-7) est obligatoire (PAM FR §6.6.4)",
                "Qualified INS: the birth date (PID-7) is required (PAM FR §6.6.4)", pid, 7, code="required")  # fmt: skip
    sex = ctx.get(pid, 8)
    if not sex:
        ctx.add("error", "pam-fr-ins-traits", location(pid, 8),
                "INS qualifié : le sexe (PID-8) est obligatoire (PAM FR §6.6.5)",
                "Qualified INS: sex (PID-8) is required (PAM FR §6.6.5)", pid, 8, code="required")  # fmt: skip
    if len(ins) == 15:
        _compare_nir_with_traits(ctx, pid, ins, birth, sex)
    _check_birth_place(ctx, pid, ins)


def _compare_nir_with_traits(ctx: RuleContext, pid: Segment, ins: str, birth: str, sex: str) -> None:
    for conflict in ins_rules.trait_conflicts(ins, sex, birth):
        if conflict.trait == "sex":
            ctx.add("error", "pam-fr-ins-traits", location(pid, 8),
                    f"Sexe incohérent avec l'INS : PID-8 = {sex}, l'INS commence par {ins[0]} ({conflict.in_ins})",
                    f"Sex inconsistent with the INS: PID-8 = {sex}, the INS starts with {ins[0]} ({conflict.in_ins})",
                    pid, 8, code="value")  # fmt: skip
        elif conflict.trait == "birth-year":
            ctx.add("error", "pam-fr-ins-traits", location(pid, 7),
                    f"Année de naissance incohérente avec l'INS ({birth[:4]} / « {conflict.in_ins} » dans l'INS)",
                    f"Birth year inconsistent with the INS ({birth[:4]} / '{conflict.in_ins}' in the INS)", pid, 7, code="value")  # fmt: skip
        else:
            ctx.add("error", "pam-fr-ins-traits", location(pid, 7),
                    f"Mois de naissance incohérent avec l'INS ({birth[4:6]} / « {conflict.in_ins} » dans l'INS)",
                    f"Birth month inconsistent with the INS ({birth[4:6]} / '{conflict.in_ins}' in the INS)", pid, 7, code="value")  # fmt: skip


def _check_birth_place(ctx: RuleContext, pid: Segment, ins: str) -> None:
    addresses = _component_lists(ctx, pid, 11)
    bdl = next((i for i, address in enumerate(addresses, start=1) if nth(address, 7) == "BDL"), None)
    code = nth(addresses[bdl - 1], 9) if bdl else ""
    if not code:
        ctx.add("error", "pam-fr-ins-birthplace", location(pid, 11, bdl or 1, 9) if bdl else location(pid, 11),
                "INS qualifié : le code INSEE du lieu de naissance est obligatoire (PID-11, XAD-7 = BDL, XAD-9) "
                "(PAM FR §6.6.6)",
                "Qualified INS: the INSEE birth place code is required (PID-11 with XAD-7 = BDL, XAD-9) "
                "(PAM FR §6.6.6)", pid, 11, code="required")  # fmt: skip
        return
    nir_place = ins[5:10].upper()
    if len(ins) == 15 and ins[0] in "12" and not nir_place.startswith("99") and code.upper() != nir_place:
        # Communes merge and are renamed: the COG code at birth may legitimately differ, hence a warning.
        ctx.add("warning", "pam-fr-ins-birthplace", location(pid, 11, bdl, 9),
                f"Lieu de naissance {code} différent de celui de l'INS ({nir_place}) : à vérifier",
                f"Birth place {code} differs from the one in the INS ({nir_place}): to be checked", pid, 11)  # fmt: skip


# ----------------------------------------------------------------------------------------------- movements (ZBE)


_ACTION_FOR = {"insert": {"INSERT"}, "cancel": {"CANCEL"}, "update": {"UPDATE"}, "switch": {"INSERT", "CANCEL"}}


@rule("pam-fr-movement")
def check_movement(ctx: RuleContext) -> None:
    movement = ctx.profile.settings.get("movement")
    zbe = ctx.message.first("ZBE")
    if zbe is None or not movement:
        return
    action = ctx.get(zbe, 4)
    allowed = _ACTION_FOR.get(movement, set())
    if action and allowed and action not in allowed:
        expected = " ou ".join(sorted(allowed))
        ctx.add("error", "pam-fr-zbe-action", location(zbe, 4),
                f"ZBE-4 = {action} incompatible avec l'événement {ctx.event} (attendu {expected}) (PAM FR §6.13)",
                f"ZBE-4 = {action} does not match event {ctx.event} (expected {' or '.join(sorted(allowed))}) "
                "(PAM FR §6.13)", zbe, 4, code="value")  # fmt: skip
    cancels = ctx.profile.settings.get("cancels") or []
    original = ctx.get(zbe, 6)
    if action == "CANCEL" and cancels and original and original not in cancels:
        ctx.add("error", "pam-fr-zbe-original-trigger", location(zbe, 6),
                f"ZBE-6 = {original} : {ctx.event} annule {', '.join(cancels)} (PAM FR §2.2)",
                f"ZBE-6 = {original}: {ctx.event} cancels {', '.join(cancels)} (PAM FR §2.2)", zbe, 6, code="value")  # fmt: skip
    nature = ctx.get(zbe, 9, 1, 1)
    if nature == "C" and ctx.event == "Z99" and original and original not in ("A01", "A04", "A05"):
        ctx.add("error", "pam-fr-zbe-nature-c", location(zbe, 9),
                f"ZBE-9 = C ne corrige qu'un A01, A04 ou A05 (ZBE-6 = {original}) (PAM FR §6.13)",
                f"ZBE-9 = C only corrects an A01, A04 or A05 (ZBE-6 = {original}) (PAM FR §6.13)", zbe, 9,
                code="value")  # fmt: skip
    if nature == "C" and ctx.event != "Z99":
        ctx.add("error", "pam-fr-zbe-nature-c", location(zbe, 9),
                "ZBE-9 = C (correction sans nouveau mouvement) n'est permis que sur Z99 (PAM FR §6.13)",
                "ZBE-9 = C (correction without a new movement) is only allowed on Z99 (PAM FR §6.13)", zbe, 9,
                code="value")  # fmt: skip


# ----------------------------------------------------------------------------------------------- CI-SIS


_CURRENT_VOLETS = {("CISIS_CDA_HL7_V2", "2.1"), ("CISIS_CDA_HL7_LPS", "1.1")}
_KNOWN_VOLETS = {"CISIS_CDA_HL7_V2", "CISIS_CDA_HL7_LPS", "CISIS_CDA_HL7_V1"}


@rule("cisis-msh")
def check_cisis_msh(ctx: RuleContext) -> None:
    msh = ctx.message.msh
    raw_version, raw_name = ctx.get(msh, 21, 1, 1), ctx.get(msh, 21, 1, 2)
    version, name = raw_version.strip(), raw_name.strip()
    if not name:
        return  # MSH-21 usage is checked by the profile
    if (version, name) != (raw_version, raw_name):
        ctx.add("warning", "cisis-msh21-spaces", "MSH-21",
                "MSH-21 contient des espaces superflus", "MSH-21 contains stray spaces", msh, 21)  # fmt: skip
    if name not in _KNOWN_VOLETS:
        ctx.add("error", "cisis-msh21", "MSH-21.2",
                f"MSH-21.2 « {name} » : attendu CISIS_CDA_HL7_V2 (ou CISIS_CDA_HL7_LPS)",
                f"MSH-21.2 '{name}': expected CISIS_CDA_HL7_V2 (or CISIS_CDA_HL7_LPS)", msh, 21, code="value")  # fmt: skip
        return
    if (name, version) not in _CURRENT_VOLETS:
        ctx.details["legacy_volet"] = f"{version}^{name}"
        ctx.add("warning", "cisis-volet-version", "MSH-21",
                f"Message déclaré conforme à {name} {version} : vérifié selon la version en vigueur (2.1 ; LPS 1.1), "
                "les écarts propres à cette version sont signalés en alertes",
                f"Message declares {name} {version}: checked against the current version (2.1; LPS 1.1), "
                "differences specific to that version are reported as warnings", msh, 21)  # fmt: skip


_ACTIONS = {"T02": ("NW", "F"), "T10": ("RO", "C"), "T04": ("CA", "D")}
_ORC_TO_OBX11 = {"NW": "F", "RO": "C", "CA": "D"}
_METADATA_ORDER = [
    ("MASQUE_PS", True), ("INVISIBLE_PATIENT", True), ("INVISIBLE_REP_LEGAUX", True), ("CONNEXION_SECRETE", True),
    ("MODIF_CONF_CODE", True), ("DESTDMP", True), ("DESTMSSANTEPS", True), ("DESTMSSANTEPAT", True),
    ("ACK_RECEPTION", False), ("ACK_LECTURE_MSS", False), ("CORPSMAIL_PS", False), ("CORPSMAIL_PATIENT", False),
]  # fmt: skip
_METADATA_RANK = {code: rank for rank, (code, _required) in enumerate(_METADATA_ORDER)}


def _is_metadata(ctx: RuleContext, obx: Segment) -> bool:
    return ctx.get(obx, 3, 1, 3).strip() == "MetaDMPMSS"


@rule("cisis-document")
def check_cisis_document(ctx: RuleContext) -> None:
    observations = ctx.message.all("OBX")
    documents = [obx for obx in observations if not _is_metadata(ctx, obx) and ctx.get(obx, 2) == "ED"]
    code = ctx.message.message_type[0]
    obr = ctx.message.first("OBR")
    if ctx.profile.settings.get("volet") == "lps":
        _check_lps_document(ctx, documents, obr)
        return
    if not documents:
        ctx.add("error", "cisis-document-obx", "OBX",
                "Aucun OBX de type ED ne porte le document CDA", "No OBX of type ED carries the CDA document")  # fmt: skip
    elif code == "MDM" and len(documents) > 1:
        ctx.add("error", "cisis-document-obx", documents[1].label(),
                "Un message MDM porte exactement un document", "An MDM message carries exactly one document",
                documents[1])  # fmt: skip
    elif code == "ORU" and len(documents) > 2:
        ctx.add("error", "cisis-document-obx", documents[2].label(),
                "Un message ORU porte au plus deux instances du document (CDA N1 et N3)",
                "An ORU message carries at most two instances of the document (CDA N1 and N3)", documents[2])  # fmt: skip
    for obx in documents:
        _check_document_obx(ctx, obx, obr)
    _check_action_consistency(ctx, documents)
    _check_metadata(ctx, [obx for obx in observations if _is_metadata(ctx, obx)])
    _check_participants(ctx, observations)


def _check_lps_document(ctx: RuleContext, candidates: list[Segment], obr: Segment | None) -> None:
    document_code = ctx.get(obr, 4, 1, 1) if obr is not None else ""
    documents = [obx for obx in candidates if ctx.get(obx, 3, 1, 1) == document_code] or candidates[:1]
    if not documents:
        ctx.add("error", "cisis-document-obx", "OBX",
                "Aucun OBX de type ED ne porte le document CDA", "No OBX of type ED carries the CDA document")  # fmt: skip
    for obx in documents:
        _check_document_obx(ctx, obx, obr)
    _check_action_consistency(ctx, documents)
    ctx.add("information", "cisis-lps-partial", "MSH-21",
            "Volet LPS : seuls l'OBX du document, la cohérence de l'action et les règles communes sont vérifiés "
            "(métadonnées et corps du courriel non vérifiés)",
            "LPS volet: only the document OBX, the action consistency and the common rules are checked "
            "(metadata and e-mail body not checked)", code="informational")  # fmt: skip


def _check_document_obx(ctx: RuleContext, obx: Segment, obr: Segment | None) -> None:
    if obr is not None and ctx.get(obx, 3, 1, 1) != ctx.get(obr, 4, 1, 1):
        ctx.add("error", "cisis-obx3-obr4", location(obx, 3, 1, 1),
                f"OBX-3 du document ({ctx.get(obx, 3, 1, 1)}) doit reprendre OBR-4 ({ctx.get(obr, 4, 1, 1)})",
                f"The document OBX-3 ({ctx.get(obx, 3, 1, 1)}) must repeat OBR-4 ({ctx.get(obr, 4, 1, 1)})", obx, 3,
                code="value")  # fmt: skip
    expectations = [
        (2, "TEXT", "cisis-obx5-type"),
        (3, "XML", "cisis-obx5-subtype"),
        (4, "BASE64", "cisis-obx5-encoding"),
    ]
    for component, expected, rule_id in expectations:
        found = ctx.get(obx, 5, 1, component)
        if found.upper() != expected:
            shown = {"TEXT": "TEXT (ORU) / text (MDM)", "XML": "XML", "BASE64": "Base64"}[expected]
            ctx.add("error", rule_id, location(obx, 5, 1, component),
                    f"OBX-5.{component} doit valoir {shown} (trouvé « {found} »)",
                    f"OBX-5.{component} must be {shown} (found '{found}')", obx, 5, code="value")  # fmt: skip
    raw = unescape(ctx.get(obx, 5, 1, 5), ctx.message.delimiters)
    where = location(obx, 5, 1, 5)
    if not raw:
        ctx.add("error", "cisis-document-empty", where, "OBX-5.5 ne contient pas de document",
                "OBX-5.5 carries no document", obx, 5, code="required")  # fmt: skip
        return
    data = _decode_document(raw, ctx.get(obx, 5, 1, 4))
    if data is not None and ctx.get(obx, 5, 1, 4).upper() == "BASE64" and len(_compact(raw)) % 4:
        ctx.add("warning", "cisis-document-base64-padding", where,
                "OBX-5.5 : Base64 sans le remplissage final « = » (décodé malgré tout ; certains récepteurs le refusent)",
                "OBX-5.5: Base64 without its final '=' padding (decoded anyway; some receivers reject it)", obx, 5)  # fmt: skip
    if data is None:
        ctx.add("error", "cisis-document-base64", where,
                "OBX-5.5 n'est pas un contenu Base64 valide", "OBX-5.5 is not valid Base64 content", obx, 5,
                code="value")  # fmt: skip
        return
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:4096]
    if not head.startswith(b"<") or b"ClinicalDocument" not in head:
        preview = data[:60].decode("utf-8", "replace")
        ctx.add("error", "cisis-document-not-cda", where,
                f"Le document porté par OBX-5.5 n'est pas un document CDA (début : « {preview} »)",
                f"The document in OBX-5.5 is not a CDA document (starts with '{preview}')", obx, 5, code="value")  # fmt: skip
        return
    ctx.documents.append(Document(where, data, obx))


def _compact(raw: str) -> str:
    """`raw` without any whitespace (str.split and the regular expression \\s agree on what whitespace is;
    the split is several times faster on a document of hundreds of kilobytes)."""
    return "".join(raw.split())


def _decode_document(raw: str, encoding: str) -> bytes | None:
    if encoding.upper() != "BASE64":
        return raw.encode("utf-8")  # inline (non-conformant encoding already reported)
    compact = _compact(raw)
    compact += "=" * (-len(compact) % 4)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def _check_action_consistency(ctx: RuleContext, documents: list[Segment]) -> None:
    orc = ctx.message.first("ORC")
    order_control = ctx.get(orc, 1) if orc else ""
    event = ctx.event
    code = ctx.message.message_type[0]
    if code == "MDM" and event in _ACTIONS:
        expected_orc, expected_obx11 = _ACTIONS[event]
    elif order_control in _ORC_TO_OBX11:
        expected_orc, expected_obx11 = order_control, _ORC_TO_OBX11[order_control]
    else:
        if orc is not None:
            ctx.add("error", "cisis-action-consistency", location(orc, 1),
                    f"ORC-1 = « {order_control} » : attendu NW (transmission), RO (remplacement) ou CA (suppression)",
                    f"ORC-1 = '{order_control}': expected NW (initial), RO (replacement) or CA (deletion)", orc, 1,
                    code="value")  # fmt: skip
        return
    if orc is not None and order_control != expected_orc:
        ctx.add("error", "cisis-action-consistency", location(orc, 1),
                f"ORC-1 = « {order_control} » incohérent avec {code}^{event} (attendu {expected_orc})",
                f"ORC-1 = '{order_control}' inconsistent with {code}^{event} (expected {expected_orc})", orc, 1,
                code="value")  # fmt: skip
    for obx in documents:
        status = ctx.get(obx, 11)
        if status != expected_obx11:
            ctx.add("error", "cisis-action-consistency", location(obx, 11),
                    f"OBX-11 = « {status} » incohérent avec l'action (attendu {expected_obx11} pour ORC-1 = {expected_orc})",
                    f"OBX-11 = '{status}' inconsistent with the action (expected {expected_obx11} for ORC-1 = "
                    f"{expected_orc})", obx, 11, code="value")  # fmt: skip


def _check_metadata(ctx: RuleContext, metadata: list[Segment]) -> None:
    code = ctx.message.message_type[0]
    coded_type = "CE" if code == "ORU" else "CWE"
    present = [ctx.get(obx, 3, 1, 1) for obx in metadata]
    for name, required in _METADATA_ORDER:
        if required and name not in present:
            ctx.add("error", "cisis-metadata-missing", "OBX",
                    f"OBX de métadonnée {name} (MetaDMPMSS) obligatoire absent",
                    f"Required metadata OBX {name} (MetaDMPMSS) is missing", code="required")  # fmt: skip
    last_rank = -1
    for obx in metadata:
        name = ctx.get(obx, 3, 1, 1)
        rank = _METADATA_RANK.get(name)
        if rank is None:
            ctx.add("error", "cisis-metadata-code", location(obx, 3, 1, 1),
                    f"Code de métadonnée inconnu : {name}", f"Unknown metadata code: {name}", obx, 3,
                    code="code-invalid")  # fmt: skip
            continue
        if rank < last_rank:
            ctx.add("error", "cisis-metadata-order", location(obx, 3, 1, 1),
                    f"OBX de métadonnée {name} hors de l'ordre imposé par le volet",
                    f"Metadata OBX {name} is out of the order the volet requires", obx, 3)  # fmt: skip
        last_rank = max(last_rank, rank)
        is_mail = name.startswith("CORPSMAIL")
        expected_type = "ED" if is_mail else coded_type
        if ctx.get(obx, 2) != expected_type:
            ctx.add("error", "cisis-metadata-type", location(obx, 2),
                    f"OBX-2 de {name} doit valoir {expected_type} (trouvé « {ctx.get(obx, 2)} »)",
                    f"OBX-2 of {name} must be {expected_type} (found '{ctx.get(obx, 2)}')", obx, 2, code="value")  # fmt: skip
        if not is_mail and ctx.get(obx, 5, 1, 1) not in ("Y", "N"):
            ctx.add("error", "cisis-metadata-value", location(obx, 5, 1, 1),
                    f"OBX-5 de {name} doit valoir Y ou N", f"OBX-5 of {name} must be Y or N", obx, 5, code="value")  # fmt: skip
        if ctx.get(obx, 11) != "F":
            ctx.add("error", "cisis-metadata-status", location(obx, 11),
                    f"OBX-11 de {name} doit valoir F", f"OBX-11 of {name} must be F", obx, 11, code="value")  # fmt: skip


def _metadata_flag(ctx: RuleContext, observations: list[Segment], name: str) -> bool:
    return any(
        _is_metadata(ctx, obx) and ctx.get(obx, 3, 1, 1) == name and ctx.get(obx, 5, 1, 1) == "Y"
        for obx in observations
    )


def _check_participants(ctx: RuleContext, observations: list[Segment]) -> None:
    roles = [ctx.get(prt, 4, 1, 1) for prt in ctx.message.all("PRT")]
    if _metadata_flag(ctx, observations, "DESTDMP") and "SB" not in roles:
        ctx.add("error", "cisis-prt-sender", "PRT",
                "DESTDMP = Y : un PRT avec PRT-4 = SB (émetteur) est requis pour l'alimentation du DMP",
                "DESTDMP = Y: a PRT with PRT-4 = SB (sender) is required for DMP publication", code="required")  # fmt: skip
    if _metadata_flag(ctx, observations, "DESTMSSANTEPS") and "RCT" not in roles:
        ctx.add("error", "cisis-prt-recipient", "PRT",
                "DESTMSSANTEPS = Y : au moins un PRT avec PRT-4 = RCT (destinataire) est requis",
                "DESTMSSANTEPS = Y: at least one PRT with PRT-4 = RCT (recipient) is required", code="required")  # fmt: skip
    for prt in ctx.message.all("PRT"):
        if ctx.get(prt, 4, 1, 1) in ("RCT", "REPLY"):
            for index in range(1, len(repetitions(prt, 15, ctx.message.delimiters)) + 1):
                if ctx.get(prt, 15, index, 4) and ctx.get(prt, 15, index, 3) != "X.400":
                    ctx.add("error", "cisis-prt-address", location(prt, 15, index, 3),
                            "Adresse MSSanté : PRT-15.3 doit valoir X.400", "MSSanté address: PRT-15.3 must be X.400",
                            prt, 15, code="value")  # fmt: skip


def split_components(value: str, message: Message) -> list[str]:
    return components(value, message.delimiters)


def split_subcomponents(value: str, message: Message) -> list[str]:
    return subcomponents(value, message.delimiters)
