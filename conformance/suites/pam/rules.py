"""The rules of the PAM FR suite (the system as receiver and as sender of ITI-30 / ITI-31 messages)."""

from __future__ import annotations

from conformance.sdk import SHALL, RuleSet

rules = RuleSet("pam")

NOTHING_RECEIVED = rules.rule(
    "pam-nothing-received",
    "pam.emit.received",
    SHALL,
    fr="aucun message ADT reçu sur {endpoint} en {seconds} s",
    en="no ADT message received on {endpoint} within {seconds} s",
    code="not-found",
)
ACK_ERR_MISSING = rules.rule(
    "ack-err-missing",
    "pam.ack.rejected",
    SHALL,
    fr="{defect} : l'acquittement ne porte pas de segment ERR",
    en="{defect}: the acknowledgement carries no ERR segment",
    code="required",
)
EVENT_NOT_IN_PAM = rules.rule(
    "pam-emit-event-outside-profile",
    "pam.emit.profile",
    SHALL,
    fr="{message_type} n'est pas un message de PAM FR 2.11 (A08 y est exclu : A31 pour l'identité, Z99 pour"
    " corriger un mouvement)",
    en="{message_type} is not a PAM FR 2.11 message (A08 is excluded: A31 for the identity, Z99 to correct a movement)",
    code="not-supported",
)
INS_AUTHORITY = rules.rule(
    "pam-emit-ins-authority",
    "pam.emit.ins",
    SHALL,
    fr="INS {ins} émis sous l'autorité {got} au lieu de {expected} (celle du patient de test configuré)",
    en="INS {ins} emitted under authority {got} instead of {expected} (the configured test patient's)",
    code="value",
)

# The HL7 v2 validator's rules that the INS requirement owns: reported by the INS test, left out of the profile one.
INS_RULES = ("pam-fr-ins-c", "pam-fr-ins-oid", "pam-fr-ins-type", "pam-fr-ins-qualified", "pam-fr-pid32-status")
