"""What an INS is, decided once for every syntax that carries one: FHIR `Patient.identifier` (FR Core INS),
HL7 v2 PID-3 / MRG-1, the CDA header's `patientRole/id`, XDS `patientId` / `sourcePatientId` and the VIHF
resource id. The validators call `check_ins` and keep their own rule ids and messages; a test shows the
channels reach the same decision on the same identifiers.

The rules:
- the assigning authority: one of the four INS OIDs of `conformance.identifiers` (INS-NIR, INS-NIA, and the
  INS-NIR of test and demonstration identities). The legacy INS-C OIDs are refused (INS-C must no longer be
  sent). The NIR and NIA used as social-security numbers (NSS-NIR and NSS-NIA, `SOCIAL_SECURITY_OIDS`; FR
  Core 2.2.0 and the ANS CDA volets) sit under the arc and are not INS: judged as any other identifier. Any other
  OID under the INS arc 1.2.250.1.213.1.4 claims to be an INS authority and is not one: an error everywhere.
  An OID outside the arc is not an INS (each channel says whether it needed one there).
- the value: 13 characters (Corsica's 2A / 2B in the department) and a 2-digit key, 97 - (number mod 97), the
  department 2A counted as 19 and 2B as 18. A wrong key is an error for production authorities and a warning
  for test and demonstration identities (ANS's own examples carry test INS whose key does not check out).
- qualification: an INS is sent only for a qualified identity (identity status VALI); the reference traits
  (birth name, first given name, birth date, sex) must be there, and the sex and birth year / month the NIR
  encodes must agree with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from conformance.identifiers import (
    INS_ARC,
    INS_C_OIDS,
    INS_DEMO_NIR_OID,
    INS_LABELS,
    INS_OIDS,
    INS_TEST_NIR_OID,
    SOCIAL_SECURITY_OIDS,
    bare_oid,
)

QUALIFIED_STATUS = "VALI"  # the identity status under which an INS may be sent (FR Core, PAM FR PID-32)
_TEST_AUTHORITIES = frozenset({INS_TEST_NIR_OID, INS_DEMO_NIR_OID})


class Authority(StrEnum):
    INS = "ins"  # one of the four INS authorities
    INS_C = "ins-c"  # the legacy computed INS: refused
    UNKNOWN = "unknown-ins-authority"  # under the INS arc, not an INS authority: refused
    OTHER = "other"  # not an INS authority (an IPP domain, a FINESS...)


class Decision(StrEnum):
    """The verdict on one identifier, the same whichever syntax carried it."""

    VALID = "valid"
    KEY_WARNING = "key-warning"  # a test / demonstration INS whose key does not check out
    KEY_ERROR = "key-error"
    INS_C = "ins-c"
    UNKNOWN_AUTHORITY = "unknown-authority"
    NOT_INS = "not-ins"


def authority(oid: str) -> Authority:
    """The kind of assigning authority an OID (bare or `urn:oid:`) is."""
    oid = bare_oid(oid.strip())
    if oid in INS_OIDS:
        return Authority.INS
    if oid in INS_C_OIDS:
        return Authority.INS_C
    if oid.startswith(INS_ARC) and oid not in SOCIAL_SECURITY_OIDS:
        return Authority.UNKNOWN
    return Authority.OTHER


def claims_ins(oid: str) -> bool:
    """The OID says the identifier is an INS (rightly or not): the identifier must be judged as one."""
    return authority(oid) is not Authority.OTHER


def is_test_authority(oid: str) -> bool:
    return bare_oid(oid.strip()) in _TEST_AUTHORITIES


def label(oid: str) -> str:
    return INS_LABELS.get(bare_oid(oid.strip()), bare_oid(oid.strip()))


def nir_key_ok(value: str) -> bool:
    """A NIR / NIA: 13 characters and a 2-digit key equal to 97 - (number mod 97); Corsica's department 2A counts
    as 19 and 2B as 18."""
    if len(value) != 15 or not value[13:].isdigit():
        return False
    body = value[:13].upper()
    corsica = {"2A": "19", "2B": "18"}.get(body[5:7])
    if corsica:
        body = body[:5] + corsica + body[7:]
    if not body.isdigit():
        return False
    return 97 - int(body) % 97 == int(value[13:])


def key_severity(oid: str) -> str:
    """How grave a wrong key is under this authority: a warning for test / demonstration identities."""
    return "warning" if is_test_authority(oid) else "error"


@dataclass(frozen=True, slots=True)
class InsCheck:
    oid: str
    authority: Authority
    key_ok: bool

    @property
    def decision(self) -> Decision:
        if self.authority is Authority.OTHER:
            return Decision.NOT_INS
        if self.authority is Authority.INS_C:
            return Decision.INS_C
        if self.authority is Authority.UNKNOWN:
            return Decision.UNKNOWN_AUTHORITY
        if self.key_ok:
            return Decision.VALID
        return Decision.KEY_WARNING if is_test_authority(self.oid) else Decision.KEY_ERROR

    @property
    def key_severity(self) -> str:
        return key_severity(self.oid)


def check_ins(value: str, oid: str) -> InsCheck:
    """The decision on `value` under the assigning authority `oid` (bare or `urn:oid:`)."""
    oid = bare_oid(oid.strip())
    return InsCheck(oid, authority(oid), nir_key_ok(value.strip()))


# ---------------------------------------------------------------- qualification


def ins_allowed(identity_status: str | None) -> bool:
    """An INS may be sent only for a qualified identity."""
    return (identity_status or "").strip() == QUALIFIED_STATUS


@dataclass(frozen=True, slots=True)
class TraitConflict:
    trait: str  # "sex", "birth-year" or "birth-month"
    in_ins: str  # what the NIR encodes (M / F, the 2-digit year, the month)
    declared: str  # what the identity says


def trait_conflicts(ins: str, sex: str, birth_date: str) -> list[TraitConflict]:
    """Where the traits contradict what the NIR encodes (sex digit, birth year and month). `birth_date` is
    YYYYMMDD[...] or YYYY-MM-DD; unknown or unusable traits contradict nothing."""
    if len(ins) != 15:
        return []
    conflicts: list[TraitConflict] = []
    expected_sex = {"1": "M", "2": "F"}.get(ins[0])
    if expected_sex and sex in ("M", "F") and sex != expected_sex:
        conflicts.append(TraitConflict("sex", expected_sex, sex))
    birth = birth_date.replace("-", "")
    if len(birth) >= 6 and birth[:6].isdigit():
        year, month = ins[1:3], ins[3:5]
        if year.isdigit() and year != birth[2:4]:
            conflicts.append(TraitConflict("birth-year", year, birth[:4]))
        elif month.isdigit() and 1 <= int(month) <= 12 and month != birth[4:6]:
            conflicts.append(TraitConflict("birth-month", month, birth[4:6]))
    return conflicts


# ---------------------------------------------------------------- FHIR Identifier (the validator's adapter)


def fhir_identifier_findings(identifier: dict) -> list[tuple[str, str, str, str, str, str]]:
    """(severity, code, rule, location suffix, fr, en) for a FHIR Identifier whose system claims the INS arc.
    The value itself is a patient identifier: never echoed into the messages."""
    system, value = identifier.get("system"), identifier.get("value")
    if not isinstance(system, str) or not system.startswith("urn:oid:") or not claims_ins(system):
        return []
    check = check_ins(value if isinstance(value, str) else "", system)
    if check.authority is not Authority.INS:
        rule = "fr-ins-c" if check.authority is Authority.INS_C else "fr-ins-unknown-oid"
        accepted = ", ".join(sorted(INS_OIDS))
        return [
            (
                "error",
                "code-invalid",
                rule,
                ".system",
                f"Le système {system} se réclame de l'arc INS mais n'est pas une autorité INS admise ({accepted}).",
                f"System {system} claims the INS arc but is not an accepted INS authority ({accepted}).",
            )
        ]
    if not isinstance(value, str) or check.key_ok:
        return []
    return [
        (
            check.key_severity,
            "value",
            "fr-ins-key",
            ".value",
            f"Le matricule INS ({len(value)} caractères) n'est pas un NIR/NIA de 15 caractères avec une clé valide.",
            f"The INS ({len(value)} characters) is not a 15-character NIR/NIA with a valid key.",
        )
    ]
