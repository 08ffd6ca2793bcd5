"""The choices the DMP sources leave open, as settings (see the `[dmp]` section of the campaign configuration).

Each default is documented where the facts disagree:
- `vihf_versions`: the ANS table says VIHF_Version 4.0, its example and every CNAM sample say 3.0: both accepted.
- `strict_casing`: `Authentification_Mode` (ANS, DRIMbox) vs `Authentification_mode` (CNAM samples): both
  accepted unless strict.
- `iti57_response_action`: the DMP answers ITI-57 with `UpdateDocumentSet-Response` (hyphen), IHE without: the
  harness acting as the DMP sends the DMP spelling ("dmp"); as a document source it accepts either unless strict.
- `soap_version`: requests must be SOAP 1.2 (the WSDL bindings); the CNAM TD2.1 sample capture is SOAP 1.1.
- `allow_sha1`: CNAM samples sign the VIHF with RSA-SHA1, the 2024 ANS example with RSA-SHA256: both verified.
- `value_sets`: "dmp" judges classCode and confidentialityCode against the DMP sets J57/J58 (codes known) and the
  others against the CI-SIS sets of the pack (J02/J04/J07/J10), since J59/J61/J62/J66 were not found.
- `xades`: the DMP requires a XAdES-signed submission set (S5, paraphrased): "required"; "optional" verifies it
  only when present. What is produced and accepted is in `xades.py`.
- `submission_set_nodes`: the IHE SubmissionSet classification node, and the one in the facts sheet's table
  (both accepted unless strict).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# JDV_J57-ClassCode-DMP and JDV_J58-ConfidentialityCode-DMP (IG terminologies de santé)
J57_CLASS_CODES = frozenset({"10", "11", "31", "42", "43", "44", "45", "52", "60", "90", "95"})
J57_EXTRA = frozenset({"urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1"})
J58_CONFIDENTIALITY = frozenset(
    {
        ("N", "2.16.840.1.113883.5.25"),
        ("R", "2.16.840.1.113883.5.25"),
        ("V", "2.16.840.1.113883.5.25"),
        ("MASQUE_PS", "1.2.250.1.213.1.1.4.13"),
        ("INVISIBLE_PATIENT", "1.2.250.1.213.1.1.4.13"),
        ("INVISIBLE_REPRESENTANTS_LEGAUX", "1.2.250.1.213.1.1.4.13"),
    }
)
REQUIRED_VIHF_ATTRIBUTES = (
    "VIHF_Version",
    "Authentification_Mode",
    "Identifiant_Structure",
    "Secteur_Activite",
    "urn:oasis:names:tc:xacml:2.0:subject:role",
    "urn:oasis:names:tc:xspa:1.0:subject:subject-id",
    "urn:oasis:names:tc:xacml:2.0:resource:resource-id",
    "Ressource_URN",
    "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse",
    "LPS_Nom",
)
AUTHENTICATION_MODES = ("DIRECTE", "INDIRECTE", "INDIRECTE_RENFORCEE")


@dataclass(slots=True)
class XdsRules:
    vihf_versions: tuple[str, ...] = ("3.0", "4.0")
    strict_casing: bool = False
    strict: bool = False  # the known inconsistencies are judged by the strictest reading
    iti57_response_action: str = "dmp"  # "dmp" | "ihe"
    allow_sha1: bool = True
    value_sets: str = "dmp"  # "dmp" | "cisis"
    required_vihf_attributes: tuple[str, ...] = REQUIRED_VIHF_ATTRIBUTES
    trusted_ca: bytes | None = field(default=None, repr=False)  # PEM of the CA the VIHF signing cert must chain to
    known_patients: frozenset[str] | None = None  # INS values the registry knows (None: any INS is known)
    cda_pack: str | None = None
    xades: str = "required"  # "required" | "optional": the XAdES-signed submission set (see xades.py)

    def applied(self) -> dict[str, object]:
        """The choices applied, for the report."""
        return {
            "vihf_versions": list(self.vihf_versions),
            "strict_casing": self.strict_casing,
            "strict": self.strict,
            "iti57_response_action": self.iti57_response_action,
            "allow_sha1": self.allow_sha1,
            "value_sets": self.value_sets,
            "xades": self.xades,
        }
