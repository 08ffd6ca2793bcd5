"""HL7 v2 validation: message profiles (our PAM FR / CI-SIS sets or a user's XML profile), INS rules,
acknowledgements, and the CDA documents carried in OBX (handed to the CDA validator).

    validate_message(message, profile="pam-fr-2.11", lang="fr") -> Outcome
    validate_input(data, *, name, options) -> list[Outcome]     # the `conformance validate` entry point
    make_ack(message, code="AA", findings=()) -> str
    check_ack(sent, ack, expected={"AA", "CA"}) -> Outcome

The message type (MSH-9) picks the event profile inside the set. A built-in set that has no profile for the
message type hands over to the other built-in sets (an ORU^R01 validated "against pam-fr-2.11" is checked with
the CI-SIS document transmission profile, and the outcome says which profile was used).
"""

from conformance.validation.hl7v2.ack import ack_mode, check_ack, make_ack
from conformance.validation.hl7v2.profile import ProfileError, builtin_profile_ids, load_profile_set, load_xml_profile
from conformance.validation.hl7v2.validator import (
    DEFAULT_PROFILE,
    profile_versions,
    split_messages,
    validate_input,
    validate_message,
)

__all__ = [
    "DEFAULT_PROFILE",
    "ProfileError",
    "ack_mode",
    "builtin_profile_ids",
    "check_ack",
    "load_profile_set",
    "load_xml_profile",
    "make_ack",
    "profile_versions",
    "split_messages",
    "validate_input",
    "validate_message",
]
