"""The rules of the CI-SIS document transmission over HL7 v2 suite."""

from __future__ import annotations

from conformance.sdk import SHALL, RuleSet

rules = RuleSet("documents-hl7v2")

OBX_ENCODING = rules.rule(
    "cisis-obx-encoding",
    "cisis.hl7v2.obx-base64",
    SHALL,
    fr="OBX-5.4 = {encoding!r} au lieu de Base64",
    en="OBX-5.4 = {encoding!r} instead of Base64",
    code="value",
)
OBX_BASE64 = rules.rule(
    "cisis-obx-base64",
    "cisis.hl7v2.obx-base64",
    SHALL,
    fr="OBX-5.5 n'est pas du Base64",
    en="OBX-5.5 is not Base64",
    code="value",
)
OBX_NOT_XML = rules.rule(
    "cisis-obx-not-xml",
    "cisis.hl7v2.obx-base64",
    SHALL,
    fr="OBX-5.5 décodé n'est pas un document XML (OBX-5.3 = {type!r}) : le CDA n'y est pas",
    en="OBX-5.5 decoded is not an XML document (OBX-5.3 = {type!r}): the CDA is not in it",
    code="value",
)

# The HL7 v2 validator's rules the profile test leaves to their own requirement's test: OBX-5.4 (Base64) and
# the INS rules (pam.emit.ins; the pam suite's list)
BASE64_RULES = ("cisis-obx5-encoding",)
