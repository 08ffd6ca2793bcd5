"""French national identifiers, identifier systems, profile canonical URLs and PAM header values.

The one home of these constants: every module of the harness (validators, suites, reference endpoints,
evidence) imports them from here rather than writing the literals out.

OIDs are given bare (as HL7 v2 and CDA carry them); `urn(oid)` gives the FHIR `Identifier.system` form.
"""

from __future__ import annotations

URN_OID = "urn:oid:"


def urn(oid: str) -> str:
    """The FHIR `urn:oid:` form of a bare OID (unchanged when already prefixed)."""
    return oid if oid.startswith(URN_OID) else URN_OID + oid


def bare_oid(system: str) -> str:
    """A bare OID from an `urn:oid:` system (unchanged when already bare)."""
    return system.removeprefix(URN_OID)


# ------------------------------------------------------------------------------------ INS authorities

INS_ARC = "1.2.250.1.213.1.4."  # the arc every INS assigning authority sits under
INS_NIR_OID = "1.2.250.1.213.1.4.8"  # production INS-NIR (also the plain NIR, with identifier type NH)
INS_NIA_OID = "1.2.250.1.213.1.4.9"  # production INS-NIA (temporary number given by the CNAV)
INS_TEST_NIR_OID = "1.2.250.1.213.1.4.10"  # INS-NIR of test identities
INS_DEMO_NIR_OID = "1.2.250.1.213.1.4.11"  # INS-NIR of demonstration identities
INS_C_OID = "1.2.250.1.213.1.4.2"  # legacy INS-C (computed INS), production
INS_C_OIDS = frozenset({INS_C_OID, "1.2.250.1.213.1.4.6", "1.2.250.1.213.1.4.7"})  # INS-C: production, test, demo
# Under the INS arc but not INS: the NIR / NIA as social-security numbers (FR Core 2.2.0 slices NSS-NIR and
# NSS-NIA; the ANS CSE 2025.01 examples carry the child's NIR so, beside the test INS-NIR).
NSS_NIR_OID = "1.2.250.1.213.1.4.13"
NSS_NIA_OID = "1.2.250.1.213.1.4.14"
SOCIAL_SECURITY_OIDS = frozenset({NSS_NIR_OID, NSS_NIA_OID})

# OID -> the HL7 v2 namespace id written before it in CX-4 (`ASIP-SANTE-INS-NIR&<OID>&ISO`)
INS_AUTHORITY_NAMES = {
    INS_NIR_OID: "ASIP-SANTE-INS-NIR",
    INS_NIA_OID: "ASIP-SANTE-INS-NIA",
    INS_TEST_NIR_OID: "ASIP-SANTE-INS-NIR-TEST",
    INS_DEMO_NIR_OID: "ASIP-SANTE-INS-NIR-DEMO",
}
# OID -> a short label for messages
INS_LABELS = {
    INS_NIR_OID: "INS-NIR",
    INS_NIA_OID: "INS-NIA",
    INS_TEST_NIR_OID: "INS-NIR test",
    INS_DEMO_NIR_OID: "INS-NIR démo",
}
INS_OIDS = frozenset(INS_AUTHORITY_NAMES)
INS_SYSTEMS = frozenset(urn(oid) for oid in INS_OIDS)  # FHIR Identifier.system of an INS

# ------------------------------------------------------------------------------------ health professionals, structures

ID_NAT_PS_OID = "1.2.250.1.71.4.2.1"  # idNatPs: national identifier of a health professional (8 + RPPS, ...)
ID_NAT_STRUCT_OID = "1.2.250.1.71.4.2.2"  # idNatStruct: national identifier of a structure (IDNST)
IDNPS_SYSTEM = urn(ID_NAT_PS_OID)
IDNST_SYSTEM = urn(ID_NAT_STRUCT_OID)
IDNPS_AUTHORITY = f"ASIP-SANTE-PS&{ID_NAT_PS_OID}&ISO"  # HL7 v2 XCN-9
RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
FINESS_SYSTEM = "https://finess.esante.gouv.fr"

# ------------------------------------------------------------------------------------ FHIR canonical URLs

FR_CORE_BASE = "https://hl7.fr/ig/fhir/core/"
PDSM_BASE = "https://interop.esante.gouv.fr/ig/fhir/pdsm/"
ANNUAIRE_BASE = "https://interop.esante.gouv.fr/ig/fhir/annuaire/"
FR_CORE = FR_CORE_BASE + "StructureDefinition/"
PDSM = PDSM_BASE + "StructureDefinition/"
ANNUAIRE = ANNUAIRE_BASE + "StructureDefinition/"

PROFILE_PATIENT = FR_CORE + "fr-core-patient"
PROFILE_PATIENT_INS = FR_CORE + "fr-core-patient-ins"
PROFILE_FR_PRACTITIONER = FR_CORE + "fr-core-practitioner"
PROFILE_FR_PRACTITIONER_ROLE = FR_CORE + "fr-core-practitioner-role"
PROFILE_FR_ORGANIZATION = FR_CORE + "fr-core-organization"
IDENTITY_RELIABILITY = FR_CORE + "fr-core-identity-reliability"
PROFILE_DOCREF = PDSM + "pdsm-comprehensive-document-reference"
PROFILE_SUBMISSIONSET = PDSM + "pdsm-submissionset-comprehensive"
PROFILE_FOLDER = PDSM + "pdsm-folder-comprehensive"
PROFILE_PROVIDE_BUNDLE = PDSM + "pdsm-comprehensive-provide-document-bundle"
PROFILE_PRACTITIONER = ANNUAIRE + "as-dp-practitioner"
PROFILE_PRACTITIONER_ROLE = ANNUAIRE + "as-dp-practitionerrole"
PROFILE_ORGANIZATION = ANNUAIRE + "as-dp-organization"

CS_PDSM_RESPONDER = PDSM_BASE + "CapabilityStatement/PDSm-GestionnaireDePartageDeDocuments"
CS_ANNUAIRE_SERVER = ANNUAIRE_BASE + "CapabilityStatement/AsServerDPCapabilityStatement"
IG_FR_CORE = FR_CORE_BASE + "ImplementationGuide/hl7.fhir.fr.core"
IG_PDSM = PDSM_BASE + "ImplementationGuide/ans.fhir.fr.pdsm"
IG_ANNUAIRE = ANNUAIRE_BASE + "ImplementationGuide/ans.fhir.fr.annuaire"

FR_CORE_V2_0203 = FR_CORE_BASE + "CodeSystem/fr-core-cs-v2-0203"
FR_CORE_V2_0445 = FR_CORE_BASE + "CodeSystem/fr-core-cs-v2-0445"
FR_CORE_IDENTITY_VALIDATION_MODE = FR_CORE_BASE + "CodeSystem/fr-core-cs-mode-validation-identity"

# ------------------------------------------------------------------------------------ HL7 v2 message headers

PAM_VERSION = "2.5^FRA^2.11"  # MSH-12 of IHE PAM France 2.11 messages
PAM_CONFORMANCE = "2.11^IHE_FRANCE-2.11-PAM"  # MSH-21
CISIS_CONFORMANCE = "2.1^CISIS_CDA_HL7_V2"  # MSH-21 of CI-SIS document transmission (MDM / ORU)
