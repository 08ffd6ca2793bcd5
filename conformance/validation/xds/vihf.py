"""The VIHF judged as the DMP would: presence, SAML form, the attributes and their values, the signature against
the certificate it carries (and that certificate against the trusted CA), the signer against the mutual-TLS
client certificate, the structure against the submission's authorInstitution, the patient against its
patientId. Rule ids are `vihf-*`."""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.x509.oid import NameOID

from conformance.findings import Finding, finding
from conformance.identifiers import INS_OIDS
from conformance.transport.vihf import (
    PURPOSE_OF_USE,
    RESOURCE_ID,
    ROLE,
    X509_SUBJECT_FORMAT,
    Vihf,
    verify_assertion,
)

from .metadata import check_ins_cx
from .rules import AUTHENTICATION_MODES, XdsRules
from .signature_text import french_problem
from .trust import issued_by

_SECTOR = re.compile(r"^SA\d{2}\^1\.2\.250\.1\.71\.4\.2\.4$|^(EXP_PATIENT|SNR)\^1\.2\.250\.1\.71\.4\.2\.4$")
MODE_NAMES = ("Authentification_Mode", "Authentification_mode")


def _f(rule: str, location: str, fr: str, en: str, code: str = "invalid", severity: str = "error") -> Finding:
    return finding(severity, code, rule, location, fr, en, source="vihf")


def judge_vihf(
    vihf: Vihf | None,
    rules: XdsRules | None = None,
    *,
    tls_certificate: x509.Certificate | None = None,
    institutions: set[str] | None = None,
    patient_cx: str = "",
) -> list[Finding]:
    rules = rules or XdsRules()
    if vihf is None:
        return [
            _f(
                "vihf-missing",
                "Header/Security",
                "Aucun jeton VIHF (assertion SAML dans wsse:Security).",
                "No VIHF token (SAML assertion in wsse:Security).",
                code="security",
            )
        ]
    found: list[Finding] = []
    found.extend(_form(vihf))
    found.extend(_attributes(vihf, rules))
    found.extend(_signature(vihf, rules, tls_certificate))
    structure = vihf.first("Identifiant_Structure")
    if institutions is not None and structure and structure not in institutions:
        found.append(
            _f(
                "vihf-structure-authorinstitution",
                "Attribute[Identifiant_Structure]",
                f"Aucun authorInstitution ne correspond à l'utilisateur du VIHF (structure {structure}).",
                f"No authorInstitution matches the VIHF user (structure {structure}).",
                code="business-rule",
            )
        )
    resource = vihf.first(RESOURCE_ID)
    both_ins = all(any(f"&{oid}&" in value for oid in INS_OIDS) for value in (resource, patient_cx))
    if patient_cx and resource and both_ins and resource.split("^")[:4] != patient_cx.split("^")[:4]:
        found.append(
            _f(
                "vihf-resource-patient-mismatch",
                "Attribute[resource-id]",
                "Le patient du VIHF (resource-id) n'est pas celui du lot (patientId).",
                "The VIHF patient (resource-id) is not the submission's (patientId).",
                code="business-rule",
            )
        )
    return found


def _form(vihf: Vihf) -> list[Finding]:
    found: list[Finding] = []
    assertion = vihf.assertion
    if assertion.get("Version") != "2.0" or not assertion.get("ID") or not assertion.get("IssueInstant"):
        found.append(
            _f(
                "vihf-assertion-form",
                "Assertion",
                'L\'assertion doit porter Version="2.0", ID et IssueInstant.',
                'The assertion must carry Version="2.0", ID and IssueInstant.',
                code="structure",
            )
        )
    if vihf.issuer_format != X509_SUBJECT_FORMAT:
        found.append(
            _f(
                "vihf-issuer-format",
                "Assertion/Issuer",
                f"Issuer/@Format doit être {X509_SUBJECT_FORMAT}, trouvé « {vihf.issuer_format} ».",
                f"Issuer/@Format must be {X509_SUBJECT_FORMAT}, found '{vihf.issuer_format}'.",
            )
        )
    if not vihf.nameid:
        found.append(
            _f(
                "vihf-nameid-missing",
                "Assertion/Subject/NameID",
                "Subject/NameID absent.",
                "Subject/NameID missing.",
                code="required",
            )
        )
    return found


def _attributes(vihf: Vihf, rules: XdsRules) -> list[Finding]:
    found: list[Finding] = []
    names = set(vihf.attributes) | set(vihf.coded)
    mode_names = MODE_NAMES[:1] if rules.strict_casing else MODE_NAMES
    for name in rules.required_vihf_attributes:
        present = any(n in names for n in mode_names) if name == "Authentification_Mode" else name in names
        if not present:
            found.append(
                _f(
                    "vihf-attribute-missing",
                    f"Attribute[{name}]",
                    f"Attribut VIHF obligatoire {name} absent.",
                    f"Required VIHF attribute {name} missing.",
                    code="required",
                )
            )
    version = vihf.first("VIHF_Version")
    if version and version not in rules.vihf_versions:
        found.append(
            _f(
                "vihf-version",
                "Attribute[VIHF_Version]",
                f"VIHF_Version {version} non admise (admises : {', '.join(rules.vihf_versions)}).",
                f"VIHF_Version {version} not accepted (accepted: {', '.join(rules.vihf_versions)}).",
                code="value",
            )
        )
    mode = next((vihf.first(n) for n in mode_names if n in vihf.attributes), "")
    if mode and mode not in AUTHENTICATION_MODES:
        found.append(
            _f(
                "vihf-authentication-mode",
                "Attribute[Authentification_Mode]",
                f"Mode d'authentification {mode} inconnu ({', '.join(AUTHENTICATION_MODES)}).",
                f"Unknown authentication mode {mode} ({', '.join(AUTHENTICATION_MODES)}).",
                code="code-invalid",
            )
        )
    sector = vihf.first("Secteur_Activite")
    if sector and not _SECTOR.match(sector):
        found.append(
            _f(
                "vihf-activity-sector",
                "Attribute[Secteur_Activite]",
                f"Secteur_Activite « {sector} » : attendu un code SAxx^1.2.250.1.71.4.2.4.",
                f"Secteur_Activite '{sector}': an SAxx^1.2.250.1.71.4.2.4 code is expected.",
                code="code-invalid",
            )
        )
    urn = vihf.first("Ressource_URN")
    if urn and urn != "urn:dmp":
        found.append(
            _f(
                "vihf-resource-urn",
                "Attribute[Ressource_URN]",
                f"Ressource_URN {urn} au lieu de urn:dmp.",
                f"Ressource_URN {urn} instead of urn:dmp.",
                code="value",
            )
        )
    resource = vihf.first(RESOURCE_ID)
    if resource:
        found.extend(
            _f(
                f.rule.replace("xds-patientid", "vihf-resource-id"),
                "Attribute[resource-id]",
                f.message_fr,
                f.message_en,
                code=f.code,
                severity=f.severity.value,
            )
            for f in check_ins_cx(resource, "Attribute[resource-id]", "resource-id")
        )
    for coded in vihf.coded.get(ROLE, []):
        if not coded.code or not coded.code_system:
            found.append(
                _f(
                    "vihf-role",
                    "Attribute[role]",
                    "Rôle VIHF sans code ou codeSystem.",
                    "VIHF role without code or codeSystem.",
                    code="required",
                )
            )
    purposes = vihf.coded.get(PURPOSE_OF_USE, [])
    if purposes and purposes[0].code_system != "1.2.250.1.213.1.1.4.248":
        found.append(
            _f(
                "vihf-purpose-of-use",
                "Attribute[purposeofuse]",
                f"PurposeOfUse codeSystem {purposes[0].code_system} au lieu de 1.2.250.1.213.1.1.4.248.",
                f"PurposeOfUse codeSystem {purposes[0].code_system} instead of 1.2.250.1.213.1.1.4.248.",
                code="code-invalid",
            )
        )
    return found


def _problem_fr(problem_fr: str, problem_en: str) -> str:
    """The transport's French problem, unless it quotes signxml's English (then explained in French)."""
    quoted = re.fullmatch(r"invalid signature \((.*)\)", problem_en, re.S)
    return french_problem(quoted.group(1)) if quoted else problem_fr


def _signature(vihf: Vihf, rules: XdsRules, tls_certificate: x509.Certificate | None) -> list[Finding]:
    check = verify_assertion(vihf.assertion, allow_sha1=rules.allow_sha1)
    if not check.valid:
        return [
            _f(
                "vihf-signature-invalid",
                "Assertion/Signature",
                f"Signature du VIHF invalide : {_problem_fr(check.problem_fr, check.problem_en)}.",
                f"Invalid VIHF signature: {check.problem_en}.",
                code="security",
            )
        ]
    found: list[Finding] = []
    certificate = check.certificate
    assert certificate is not None
    if vihf.issuer and _dn(vihf.issuer) != _dn(certificate.subject.rfc4514_string()):
        found.append(
            _f(
                "vihf-issuer-certificate",
                "Assertion/Issuer",
                "Issuer ne reprend pas le DN du certificat de signature.",
                "Issuer is not the signing certificate's DN.",
                code="business-rule",
            )
        )
    if rules.trusted_ca is not None and not issued_by(certificate, rules.trusted_ca):
        found.append(
            _f(
                "vihf-certificate-untrusted",
                "Assertion/Signature/KeyInfo",
                "Le certificat de signature du VIHF n'est pas émis par l'autorité de confiance configurée.",
                "The VIHF signing certificate is not issued by the configured trusted authority.",
                code="security",
            )
        )
    if tls_certificate is not None and _organisation(tls_certificate) != _organisation(certificate):
        found.append(
            _f(
                "vihf-tls-mismatch",
                "Assertion/Signature/KeyInfo",
                "Erreur d'authentification de la personne morale : la structure du certificat de signature "
                "diffère de celle du certificat TLS client.",
                "Legal-entity authentication error: the signing certificate's structure differs from the TLS "
                "client certificate's.",
                code="security",
            )
        )
    structure = vihf.first("Identifiant_Structure")
    if tls_certificate is not None and structure and structure not in _organisation(tls_certificate):
        found.append(
            _f(
                "vihf-structure-tls-mismatch",
                "Attribute[Identifiant_Structure]",
                f"La structure {structure} du VIHF n'est pas celle du certificat TLS client.",
                f"The VIHF structure {structure} is not the TLS client certificate's.",
                code="security",
            )
        )
    return found


def _dn(value: str) -> str:
    return ",".join(sorted(part.strip().lower() for part in value.split(",")))


def _organisation(certificate: x509.Certificate) -> tuple[str, ...]:
    values: list[str] = []
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.ORGANIZATIONAL_UNIT_NAME):
        values.extend(str(a.value) for a in certificate.subject.get_attributes_for_oid(oid))
    return tuple(values)
